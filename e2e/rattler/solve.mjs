// solve.mjs runs rattler's solver (the WASM build of the library behind
// pixi) the way the e2e tests need it: it reads
// {"specs": [...], "channels": [...], "platforms": [...]} as JSON from
// stdin and prints the solved packages as one JSON array on stdout. A
// failed solve prints {"error": "<rattler's message>"} and exits 1, so
// the Go test can assert on the refusal rattler saw.
import { simpleSolve } from "@conda-org/rattler";

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

function num(v) {
  return v === undefined || v === null ? null : Number(v);
}

try {
  const req = JSON.parse(await readStdin());
  const solved = await simpleSolve(req.specs, req.channels, req.platforms, []);
  const out = solved.map((p) => ({
    url: p.url,
    filename: p.filename,
    name: p.packageName,
    version: p.version,
    build: p.build,
    subdir: p.subdir ?? null,
    sha256: p.sha256 ?? null,
    md5: p.md5 ?? null,
    size: num(p.size),
    depends: p.depends ?? [],
  }));
  process.stdout.write(JSON.stringify(out) + "\n");
} catch (e) {
  process.stdout.write(JSON.stringify({ error: String(e?.message ?? e) }) + "\n");
  process.exitCode = 1;
}
