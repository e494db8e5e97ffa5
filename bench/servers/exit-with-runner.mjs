/**
 * Preloaded into every server the bench starts (`node --import`): ends the server when the bench
 * runner that started it is gone, however the runner ended (even SIGKILL), because the runner
 * holds the write end of this process's stdin and the kernel closes it then.
 *
 * Plain JavaScript, so that the measured server process loads no TypeScript loader for it.
 */
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
