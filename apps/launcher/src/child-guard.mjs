/* global process, setInterval, clearInterval */
// Loaded with `node --import` into each process `npm start` runs (API, web server, agent). The
// launcher starts them in their own process groups, so that Ctrl-C reaches the launcher alone and
// it can stop them in order; the price is that a launcher killed outright (kill -9, OOM) would
// leave them running. This guard closes that gap: once the process's parent is gone (the kernel
// hands it to another parent), it stops itself with SIGTERM, which runs its own clean shutdown
// (the API then stops its embedded PostgreSQL).
const parent = process.ppid;
const timer = setInterval(() => {
  if (process.ppid !== parent) {
    clearInterval(timer);
    process.kill(process.pid, 'SIGTERM');
  }
}, 1000);
timer.unref();
