/**
 * Links from a git remote (as reported by a client) to the web UI of the
 * hosting service. The origin of every link comes from HOSTS, never from the
 * input, so a crafted remote can at worst produce a wrong path on one of the
 * three supported sites, never a link to another site.
 */

interface Remote {
  /** Lower-cased, without a leading `www.`. */
  readonly host: string;
  /** Non-empty path segments exactly as given, query and fragment removed. */
  readonly segments: readonly string[];
}

interface HostRules {
  readonly origin: string;
  readonly commitPath: string;
  readonly projectPath: (segments: readonly string[]) => string | null;
}

interface Project {
  readonly rules: HostRules;
  readonly path: string;
}

const SCHEME_PREFIX = /^([a-z][a-z0-9+.-]*):\/\//i;

// git still accepts the historical `git+ssh://` and `ssh+git://` spellings of ssh.
const SSH_SCHEMES: ReadonlySet<string> = new Set(["ssh", "git+ssh", "ssh+git"]);
const REMOTE_SCHEMES: ReadonlySet<string> = new Set(["http", "https", "git", ...SSH_SCHEMES]);

/** Web URL of the repository, or null when the host is unsupported or the path is missing. */
export function repoUrl(gitRepo: string | null | undefined): string | null {
  const project = findProject(gitRepo);
  return project === null ? null : `${project.rules.origin}/${project.path}`;
}

/** Web URL of the commit, or null when repoUrl is null or the hash is missing/empty. */
export function commitUrl(
  gitRepo: string | null | undefined,
  commitHash: string | null | undefined,
): string | null {
  const project = findProject(gitRepo);
  const hash = typeof commitHash === "string" ? commitHash.trim() : "";
  if (project === null || hash === "") return null;
  return `${project.rules.origin}/${project.path}/${project.rules.commitPath}/${hash}`;
}

/**
 * Removes credentials (user:password@ or token@ in http(s)/ssh/git URLs' authority) before the
 * value is stored; leaves `git@host:owner/repo` scp-style remotes and anything it cannot parse
 * unchanged.
 *
 * Any `scheme://` URL is cleaned, not only the schemes repoUrl understands, because a token in
 * e.g. `git+https://` must not be stored either. The authority ends at the first `/` (as in git's
 * own credential parsing) and the userinfo at the last `@` before it, so a password containing
 * `@`, `?` or `#` is removed whole.
 */
export function stripCredentials(gitRepo: string): string {
  // Leading whitespace is tolerated so that an untrimmed value cannot smuggle a token past us.
  const prefix = /^\s*/.exec(gitRepo)?.[0] ?? "";
  const scheme = SCHEME_PREFIX.exec(gitRepo.slice(prefix.length));
  if (scheme === null) return gitRepo;

  const start = prefix.length + scheme[0].length;
  const slash = gitRepo.indexOf("/", start);
  const authorityEnd = slash < 0 ? gitRepo.length : slash;
  const at = gitRepo.lastIndexOf("@", authorityEnd - 1);
  if (at < start) return gitRepo;

  const userinfo = gitRepo.slice(start, at);
  if (keepsUserinfo(scheme[1] ?? "", userinfo)) return gitRepo;
  return gitRepo.slice(0, start) + gitRepo.slice(at + 1);
}

/**
 * Over ssh the user name (almost always `git`) selects the account and is not a secret, so only a
 * password makes the userinfo sensitive. Everywhere else (http(s) tokens, git:// which has no
 * authentication at all) a userinfo is either a credential or useless.
 */
function keepsUserinfo(scheme: string, userinfo: string): boolean {
  return SSH_SCHEMES.has(scheme.toLowerCase()) && !userinfo.includes(":");
}

function findProject(gitRepo: string | null | undefined): Project | null {
  if (typeof gitRepo !== "string") return null;
  const remote = parseRemote(gitRepo.trim());
  // A Map, not an object literal, so that hosts like `constructor` or `__proto__` find nothing.
  const rules = remote === null ? undefined : HOSTS.get(remote.host);
  if (remote === null || rules === undefined) return null;
  const path = rules.projectPath(remote.segments);
  return path === null ? null : { rules, path };
}

function parseRemote(input: string): Remote | null {
  const scheme = SCHEME_PREFIX.exec(input);
  if (scheme === null) return parseScpStyle(input);
  if (!REMOTE_SCHEMES.has((scheme[1] ?? "").toLowerCase())) return null;
  return parseAuthorityAndPath(input.slice(scheme[0].length));
}

/** Same authority rules as stripCredentials, so both agree on where the host is. */
function parseAuthorityAndPath(rest: string): Remote | null {
  const slash = rest.indexOf("/");
  const authority = slash < 0 ? rest : rest.slice(0, slash);
  const hostAndPort = authority.slice(authority.lastIndexOf("@") + 1);
  const host = /^([^:]*)(?::\d*)?$/.exec(hostAndPort)?.[1];
  if (host === undefined) return null;
  return toRemote(host, slash < 0 ? "" : rest.slice(slash));
}

/** git's rule: `[user@]host:path` is scp-style when a colon comes before any slash. */
function parseScpStyle(input: string): Remote | null {
  const colon = input.indexOf(":");
  const slash = input.indexOf("/");
  if (colon < 0 || (slash >= 0 && slash < colon)) return null;
  const userAndHost = input.slice(0, colon);
  return toRemote(userAndHost.slice(userAndHost.lastIndexOf("@") + 1), input.slice(colon + 1));
}

function toRemote(host: string, path: string): Remote {
  const withoutQuery = path.split(/[?#]/, 1)[0] ?? "";
  return {
    host: host.toLowerCase().replace(/^www\./, ""),
    // Empty segments come from trailing or doubled slashes and never name anything.
    segments: withoutQuery.split("/").filter((segment) => segment !== ""),
  };
}

/**
 * GitHub and Bitbucket repositories are always exactly owner/repo. Pasted browser URLs often point
 * below the repository (`/tree/main`, `/pull/1`, `/src/main/`), so the first two segments are taken
 * and the rest ignored rather than rejecting such input.
 */
function ownerAndRepo(segments: readonly string[]): string | null {
  return segments.length < 2 ? null : projectPath(segments.slice(0, 2));
}

/** GitLab nests groups arbitrarily deep; only its `/-/` separator marks where sub-pages begin. */
function gitlabProject(segments: readonly string[]): string | null {
  const separator = segments.indexOf("-");
  const project = separator < 0 ? segments : segments.slice(0, separator);
  return project.length < 2 ? null : projectPath(project);
}

function projectPath(segments: readonly string[]): string | null {
  const last = segments.length - 1;
  const cleaned = segments.map((segment, i) => (i === last ? segment.replace(/\.git$/, "") : segment));
  return cleaned.every(isNamingSegment) ? cleaned.join("/") : null;
}

/**
 * Browsers resolve `.`/`..` (also percent-encoded) in a link, which would silently turn it into a
 * different page than the repository; `.git` alone leaves an empty repository name.
 */
function isNamingSegment(segment: string): boolean {
  const decodedDots = segment.replace(/%2e/gi, ".");
  return segment !== "" && decodedDots !== "." && decodedDots !== "..";
}

const HOSTS: ReadonlyMap<string, HostRules> = new Map([
  ["github.com", { origin: "https://github.com", commitPath: "commit", projectPath: ownerAndRepo }],
  ["gitlab.com", { origin: "https://gitlab.com", commitPath: "-/commit", projectPath: gitlabProject }],
  ["bitbucket.org", { origin: "https://bitbucket.org", commitPath: "commits", projectPath: ownerAndRepo }],
]);
