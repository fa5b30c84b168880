// The ceiling of this machine: the smallest possible Bun.serve answer, measured in the same run as the server.
const server = Bun.serve({ hostname: "127.0.0.1", port: Number(process.argv[2] ?? 0), fetch: () => new Response("ok") });
console.log(JSON.stringify({ message: "listening", url: server.url.href }));
