import { describe, expect, test } from "bun:test";
import { commitUrl, repoUrl, stripCredentials } from "../../src/domain/git-urls";

const HASH = "0123abcd";

const GH = "https://github.com/owner/repo";
const GL = "https://gitlab.com/group/repo";
const BB = "https://bitbucket.org/owner/repo";

/** [why, input, expected repoUrl] — commitUrl is derived per host below. */
type Case = readonly [why: string, input: string | null | undefined, repo: string | null];

const supported: readonly Case[] = [
  // input forms
  ["https", "https://github.com/owner/repo", GH],
  ["http is upgraded to https", "http://github.com/owner/repo", GH],
  ["https with .git", "https://github.com/owner/repo.git", GH],
  ["scp-style", "git@github.com:owner/repo.git", GH],
  ["scp-style without .git", "git@github.com:owner/repo", GH],
  ["scp-style without user", "github.com:owner/repo.git", GH],
  ["scp-style with leading slash in path", "git@github.com:/owner/repo.git", GH],
  ["ssh://", "ssh://git@github.com/owner/repo.git", GH],
  ["ssh:// with port", "ssh://git@github.com:22/owner/repo.git", GH],
  ["ssh:// without user", "ssh://github.com/owner/repo", GH],
  ["git+ssh:// alias", "git+ssh://git@github.com/owner/repo.git", GH],
  ["ssh+git:// alias", "ssh+git://git@github.com/owner/repo.git", GH],
  ["git://", "git://github.com/owner/repo", GH],
  ["git:// with .git", "git://github.com/owner/repo.git", GH],
  ["upper-case scheme", "HTTPS://github.com/owner/repo", GH],
  // normalisation
  ["trailing slash", "https://github.com/owner/repo/", GH],
  ["several trailing slashes", "https://github.com/owner/repo///", GH],
  ["trailing slash after .git", "https://github.com/owner/repo.git/", GH],
  ["doubled slashes", "https://github.com//owner//repo", GH],
  ["surrounding whitespace", "  \thttps://github.com/owner/repo.git\n ", GH],
  ["upper-case host", "https://GitHub.COM/owner/repo", GH],
  ["www prefix", "https://www.github.com/owner/repo", GH],
  ["upper-case www prefix", "https://WWW.GITHUB.COM/owner/repo", GH],
  ["www prefix, scp-style", "git@www.github.com:owner/repo.git", GH],
  ["explicit https port", "https://github.com:443/owner/repo", GH],
  ["empty port", "https://github.com:/owner/repo", GH],
  ["path case is kept", "https://github.com/Owner/Repo.git", "https://github.com/Owner/Repo"],
  ["only the last .git is removed", "https://github.com/owner/repo.git.git", "https://github.com/owner/repo.git"],
  ["upper-case .GIT is part of the name", "https://github.com/owner/repo.GIT", "https://github.com/owner/repo.GIT"],
  ["dots inside names are fine", "https://github.com/my.org/repo.js", "https://github.com/my.org/repo.js"],
  ["percent-encoding kept as given", "https://github.com/owner/re%20po", "https://github.com/owner/re%20po"],
  // credentials
  ["user:token", "https://user:token@github.com/owner/repo", GH],
  ["token only", "https://ghp_secret@github.com/owner/repo.git", GH],
  ["empty userinfo", "https://@github.com/owner/repo", GH],
  ["password containing @", "https://user:p@ss@github.com/owner/repo", GH],
  ["password containing ? and #", "https://user:p?s#s@github.com/owner/repo", GH],
  ["ssh user:password", "ssh://git:secret@github.com:22/owner/repo.git", GH],
  // query and fragment never leak
  ["query", "https://github.com/owner/repo?tab=readme", GH],
  ["fragment", "https://github.com/owner/repo#readme", GH],
  ["query after .git", "https://github.com/owner/repo.git?x=1#y", GH],
  ["query in scp-style", "git@github.com:owner/repo.git#main", GH],
  // extra segments on github/bitbucket: first two name the repository
  ["github tree page", "https://github.com/owner/repo/tree/main/src", GH],
  ["github pull request", "https://github.com/owner/repo/pull/12", GH],
  ["github commit page", "https://github.com/owner/repo/commit/abc", GH],
  ["bitbucket source page", "https://bitbucket.org/owner/repo/src/main/", BB],
  // gitlab
  ["gitlab https", "https://gitlab.com/group/repo", GL],
  ["gitlab scp-style", "git@gitlab.com:group/repo.git", GL],
  ["gitlab nested groups", "https://gitlab.com/group/sub/repo.git", "https://gitlab.com/group/sub/repo"],
  ["gitlab deep nesting", "ssh://git@gitlab.com/a/b/c/d/repo.git", "https://gitlab.com/a/b/c/d/repo"],
  ["gitlab stops at /-/", "https://gitlab.com/group/sub/repo/-/tree/main", "https://gitlab.com/group/sub/repo"],
  ["gitlab /-/ after .git", "https://gitlab.com/group/repo.git/-/blob/main/x", GL],
  ["gitlab www and case", "https://WWW.GitLab.com/group/repo/", GL],
  ["gitlab with query", "https://gitlab.com/group/repo?nav_source=navbar", GL],
  // bitbucket
  ["bitbucket https", "https://bitbucket.org/owner/repo", BB],
  ["bitbucket with username", "https://owner@bitbucket.org/owner/repo.git", BB],
  ["bitbucket scp-style", "git@bitbucket.org:owner/repo.git", BB],
  ["bitbucket www", "https://www.bitbucket.org/owner/repo", BB],
];

const rejected: readonly Case[] = [
  ["null", null, null],
  ["undefined", undefined, null],
  ["empty", "", null],
  ["whitespace only", " \t\n ", null],
  ["not a url", "not a url", null],
  // host must match exactly
  ["host only in path", "https://evil.example/github.com/a/b", null],
  ["supported host as prefix", "https://github.com.evil.example/a/b", null],
  ["supported host as suffix", "https://notgithub.com/a/b", null],
  ["subdomain", "https://gist.github.com/a/b", null],
  ["supported host as userinfo", "https://github.com@evil.example/a/b", null],
  ["supported host as scp user", "github.com@evil.example:a/b", null],
  ["self-hosted gitlab", "https://gitlab.example.com/group/repo", null],
  ["bitbucket.com is not bitbucket.org", "https://bitbucket.com/owner/repo", null],
  ["trailing dot on host", "https://github.com./a/b", null],
  ["double www", "https://www.www.github.com/a/b", null],
  ["object prototype key as host", "https://constructor/a/b", null],
  ["__proto__ as host", "https://__proto__/a/b", null],
  ["empty host", "https:///owner/repo", null],
  ["non-numeric port", "https://github.com:abc/owner/repo", null],
  // schemes
  ["unsupported scheme", "ftp://github.com/owner/repo", null],
  ["file scheme", "file:///github.com/owner/repo", null],
  ["scheme without slashes", "https:github.com/owner/repo", null],
  ["local path", "/home/me/github.com/owner/repo", null],
  // missing path parts
  ["no path", "https://github.com", null],
  ["root path", "https://github.com/", null],
  ["owner only", "https://github.com/owner", null],
  ["owner only with slash", "https://github.com/owner/", null],
  ["scp-style owner only", "git@github.com:owner", null],
  ["scp-style empty path", "git@github.com:", null],
  ["repo only .git", "https://github.com/owner/.git", null],
  ["path only in query", "https://github.com/owner?x=/repo", null],
  ["path only in fragment", "https://github.com/owner#/repo", null],
  ["bitbucket owner only", "https://bitbucket.org/owner", null],
  ["gitlab single segment", "https://gitlab.com/group", null],
  ["gitlab single segment before /-/", "https://gitlab.com/group/-/tree/main", null],
  ["gitlab starting with /-/", "https://gitlab.com/-/group/repo", null],
  // dot segments would resolve to a different page
  ["dot-dot owner", "https://github.com/../repo", null],
  ["dot repo", "https://github.com/owner/.", null],
  ["encoded dot-dot", "https://github.com/owner/%2E%2e", null],
  ["dot-dot left after .git", "https://github.com/owner/...git", null],
  ["gitlab dot-dot group", "https://gitlab.com/group/../repo", null],
];

const COMMIT_PATH: ReadonlyArray<readonly [origin: string, path: string]> = [
  ["https://github.com/", "/commit/"],
  ["https://gitlab.com/", "/-/commit/"],
  ["https://bitbucket.org/", "/commits/"],
];

function expectedCommitUrl(repo: string | null, hash: string): string | null {
  if (repo === null) return null;
  const entry = COMMIT_PATH.find(([origin]) => repo.startsWith(origin));
  if (entry === undefined) throw new Error(`test table has unknown origin: ${repo}`);
  return `${repo}${entry[1].slice(0, -1)}/${hash}`;
}

describe("repoUrl", () => {
  test.each([...supported, ...rejected])("%s: %p", (_why, input, expected) => {
    expect(repoUrl(input)).toBe(expected);
  });
});

describe("commitUrl", () => {
  test.each([...supported, ...rejected])("%s: %p", (_why, input, repo) => {
    expect(commitUrl(input, HASH)).toBe(expectedCommitUrl(repo, HASH));
  });

  test.each([
    ["github", "git@github.com:owner/repo.git", `https://github.com/owner/repo/commit/${HASH}`],
    ["gitlab", "git@gitlab.com:group/sub/repo.git", `https://gitlab.com/group/sub/repo/-/commit/${HASH}`],
    ["bitbucket", "git@bitbucket.org:owner/repo.git", `https://bitbucket.org/owner/repo/commits/${HASH}`],
  ])("%s commit path shape", (_host, input, expected) => {
    expect(commitUrl(input, HASH)).toBe(expected);
  });

  test.each([
    ["null", null, null],
    ["undefined", undefined, null],
    ["empty", "", null],
    ["whitespace only", "  \n", null],
    ["trimmed", `  ${HASH}\n`, `${GH}/commit/${HASH}`],
    ["full sha kept as given", "A".repeat(40), `${GH}/commit/${"A".repeat(40)}`],
    ["short sha", "abc", `${GH}/commit/abc`],
  ])("hash %s", (_why, hash, expected) => {
    expect(commitUrl("https://github.com/owner/repo", hash)).toBe(expected);
  });

  test("unsupported remote yields null even with a hash", () => {
    expect(commitUrl("https://example.com/owner/repo", HASH)).toBeNull();
  });
});

describe("generated links", () => {
  const credentialled = supported.filter(([, input]) => input?.includes("@") === true);

  // Every secret-looking word used in the credential rows of the table above.
  const SECRETS = ["user", "token", "ghp_secret", "secret", "p@ss", "p?s#s"];

  test.each(credentialled)("%s: never contains the userinfo", (_why, input) => {
    for (const url of [repoUrl(input), commitUrl(input, HASH)]) {
      expect(url).not.toBeNull();
      expect(url).not.toContain("@");
      for (const secret of SECRETS) expect(url).not.toContain(secret);
    }
  });

  test.each(supported)("%s: never carries a query or fragment", (_why, input) => {
    expect(repoUrl(input)).not.toMatch(/[?#]/);
  });
});

describe("stripCredentials", () => {
  test.each([
    // http(s): any userinfo is removed
    ["user:token", "https://user:tok@github.com/o/r.git", "https://github.com/o/r.git"],
    ["token only", "https://tok@github.com/o/r", "https://github.com/o/r"],
    ["http", "http://user:pw@github.com/o/r", "http://github.com/o/r"],
    ["empty userinfo", "https://@github.com/o/r", "https://github.com/o/r"],
    ["empty password", "https://user:@github.com/o/r", "https://github.com/o/r"],
    ["password with @", "https://user:p@ss@github.com/o/r", "https://github.com/o/r"],
    ["password with ? and #", "https://user:p?s#s@github.com/o/r", "https://github.com/o/r"],
    ["with port", "https://u:p@github.com:8443/o/r", "https://github.com:8443/o/r"],
    ["no path", "https://u:p@github.com", "https://github.com"],
    ["upper-case scheme, case otherwise kept", "HTTPS://U:P@GitHub.COM/O/R.GIT/", "HTTPS://GitHub.COM/O/R.GIT/"],
    ["unsupported host is cleaned too", "https://u:p@git.example.com/o/r", "https://git.example.com/o/r"],
    ["other schemes are cleaned too", "git+https://u:tok@github.com/o/r.git", "git+https://github.com/o/r.git"],
    ["git:// has no auth, any userinfo goes", "git://tok@github.com/o/r", "git://github.com/o/r"],
    ["query and fragment kept", "https://t@github.com/o/r?x=1#y", "https://github.com/o/r?x=1#y"],
    ["surrounding whitespace kept", "  https://t@github.com/o/r \n", "  https://github.com/o/r \n"],
    // ssh: a user name is not a secret, a password is
    ["ssh user kept", "ssh://git@github.com/o/r.git", "ssh://git@github.com/o/r.git"],
    ["ssh user with port kept", "ssh://git@github.com:22/o/r.git", "ssh://git@github.com:22/o/r.git"],
    ["ssh user:password removed", "ssh://git:secret@github.com/o/r.git", "ssh://github.com/o/r.git"],
    ["ssh empty password removed", "ssh://git:@github.com/o/r.git", "ssh://github.com/o/r.git"],
    ["git+ssh user kept", "git+ssh://git@github.com/o/r.git", "git+ssh://git@github.com/o/r.git"],
    ["SSH user:password removed", "SSH://me:pw@host/o/r", "SSH://host/o/r"],
    // unchanged
    ["scp-style", "git@github.com:o/r.git", "git@github.com:o/r.git"],
    ["scp-style with odd user", "user:pw@github.com:o/r.git", "user:pw@github.com:o/r.git"],
    ["no credentials", "https://github.com/o/r.git", "https://github.com/o/r.git"],
    ["@ only in the path", "https://github.com/o/r@v1", "https://github.com/o/r@v1"],
    ["@ only in the query", "https://github.com/o/r?u=a@b", "https://github.com/o/r?u=a@b"],
    ["not normalised", "HTTP://WWW.GitHub.com//O/R.git///", "HTTP://WWW.GitHub.com//O/R.git///"],
    ["not a url", "not a url", "not a url"],
    ["empty string", "", ""],
    ["whitespace only", "   ", "   "],
    ["scheme only", "https://", "https://"],
    ["local path", "/srv/git/o/r.git", "/srv/git/o/r.git"],
    ["no slashes after scheme", "https:u:p@github.com/o/r", "https:u:p@github.com/o/r"],
  ])("%s: %p", (_why, input, expected) => {
    expect(stripCredentials(input)).toBe(expected);
  });

  test.each([...supported, ...rejected].flatMap(([, input]) => (typeof input === "string" ? [input] : [])))(
    "is idempotent: %p",
    (input) => {
      const once = stripCredentials(input);
      expect(stripCredentials(once)).toBe(once);
    },
  );

  test.each(supported)("%s: stripping keeps the links identical", (_why, input) => {
    const stripped = stripCredentials(input ?? "");
    expect(repoUrl(stripped)).toBe(repoUrl(input));
    expect(commitUrl(stripped, HASH)).toBe(commitUrl(input, HASH));
  });
});
