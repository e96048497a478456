// Waits (60 s at most) until every URL given answers 200: used by check-prod-tree.sh.
const deadline = Date.now() + 60_000;
/** how often an URL is asked again before the deadline */
const POLL_MS = 250;
for (const url of process.argv.slice(2)) {
  for (;;) {
    const status = await fetch(url, { signal: AbortSignal.timeout(2000) }).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) break;
    if (Date.now() > deadline) {
      process.stderr.write(`${url} did not answer 200 (last: ${status || 'no answer'})\n`);
      process.exit(1);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
