import { execFile } from "node:child_process";

export interface GitInfo {
  git_repo?: string;
  git_branch?: string;
  git_commit_hash?: string;
}

const GIT_TIMEOUT_MS = 5000;

/**
 * The repository, branch and HEAD commit of `cwd`, for a run's git_* fields; {} outside a repository or without git.
 * git_repo is the `origin` remote (else the first remote) without credentials, else the top-level folder.
 * A detached HEAD has no branch; a repository without commits has no hash.
 */
export async function gitInfo(cwd: string): Promise<GitInfo> {
  const git = (...args: string[]) => run(cwd, args);
  const [top, branch, hash, remotes] = await Promise.all([
    git("rev-parse", "--show-toplevel"),
    git("symbolic-ref", "--quiet", "--short", "HEAD"),
    git("rev-parse", "--quiet", "--verify", "HEAD^{commit}"),
    git("remote"),
  ]);
  if (!top) return {};
  const names = remotes?.split("\n").filter(Boolean) ?? [];
  const remote = names.includes("origin") ? "origin" : names[0];
  const url = remote ? await git("remote", "get-url", remote) : undefined;
  const info: GitInfo = { git_repo: url ? withoutCredentials(url) : top };
  if (branch) info.git_branch = branch;
  if (hash) info.git_commit_hash = hash;
  return info;
}

/** `https://user:token@host/x` → `https://host/x`: web URLs lose their user info; ssh's `git@` is kept (it is no secret). */
export function withoutCredentials(url: string): string {
  return url.replace(/^(https?:\/\/)[^/@]*@/i, "$1");
}

/** git's trimmed stdout, or undefined when git is missing, fails or takes too long. */
function run(cwd: string, args: string[]): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile("git", args, { cwd, timeout: GIT_TIMEOUT_MS, env: { ...process.env, GIT_TERMINAL_PROMPT: "0" } }, (error, stdout) => {
      resolve(error ? undefined : String(stdout).trim() || undefined);
    });
  });
}
