#!/usr/bin/env python3
"""Wall time of commands, started the cheap way: posix_spawn (vfork + exec), no shell.

A bash loop that times `$cmd` with $EPOCHREALTIME pays for bash's own fork + exec each time:
~3 ms per command on this project's 2-core VM (page-table copies and copy-on-write faults in
a multi-MB bash), which belongs to neither engine yet was counted in both. posix_spawn costs
tens of microseconds, so what is timed here is the command itself.

  spawn_timer.py alternate ROUNDS LABEL=CMD LABEL=CMD ...
      each round runs every command once, in a fresh random order; prints per label
      "LABEL MEDIAN_SECONDS" (one line each, in the order given)
  spawn_timer.py sequential N CMD   runs CMD N times back to back; prints the total seconds
  spawn_timer.py parallel N CMD     starts CMD N times at once, waits for all; total seconds
  spawn_timer.py batches REPS sequential|parallel N LABEL=CMD LABEL=CMD ...
      REPS times, each labelled command's batch (as above) once, in a fresh random order
      each time; prints per label "LABEL MEDIAN_SECONDS" of its batches. This host's speed
      comes in waves of a few seconds: one 2 s batch of one engine against one 30 s batch of
      the other measured the wave more than the engines.

CMD is split like a shell would (shlex) but not run by one. stdout of the commands goes to
/dev/null, stderr is kept. Any command that fails stops the bench with its status.
"""
import os
import random
import shlex
import statistics
import sys
import time

DEVNULL_OUT = [(os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0)]


def resolve(argv):
    if "/" in argv[0]:
        return argv
    for d in os.environ.get("PATH", "/usr/bin:/bin").split(":"):
        p = os.path.join(d, argv[0])
        if os.access(p, os.X_OK):
            return [p] + argv[1:]
    sys.exit(f"spawn_timer: {argv[0]}: not found in PATH")


def spawn(argv):
    return os.posix_spawn(argv[0], argv, os.environ, file_actions=DEVNULL_OUT)


def check(argv, status):
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"spawn_timer: {shlex.join(argv)}: exit status {code}")


def timed(argv):
    t0 = time.perf_counter()
    pid = spawn(argv)
    _, status = os.waitpid(pid, 0)
    t1 = time.perf_counter()
    check(argv, status)
    return t1 - t0


def labelled(specs):
    cmds = []
    for s in specs:
        label, sep, cmd = s.partition("=")
        if not sep or not cmd:
            sys.exit(f"spawn_timer: {s!r}: expected LABEL=COMMAND")
        cmds.append((label, resolve(shlex.split(cmd))))
    return cmds


def medians_in_random_order(rounds, specs, measure):
    """Each round measures every labelled command once (measure(argv) -> seconds), in a fresh
    random order; prints "LABEL MEDIAN_SECONDS" per label, in the order given."""
    cmds = labelled(specs)
    times = {label: [] for label, _ in cmds}
    for _ in range(rounds):
        order = list(cmds)
        random.shuffle(order)
        for label, argv in order:
            times[label].append(measure(argv))
    for label, _ in cmds:
        print(label, f"{statistics.median(times[label]):.6f}")


def alternate(rounds, specs):
    medians_in_random_order(rounds, specs, timed)


def sequential(n, argv):
    t0 = time.perf_counter()
    for _ in range(n):
        pid = spawn(argv)
        _, status = os.waitpid(pid, 0)
        check(argv, status)
    return time.perf_counter() - t0


def parallel(n, argv):
    t0 = time.perf_counter()
    pids = [spawn(argv) for _ in range(n)]
    statuses = [os.waitpid(p, 0)[1] for p in pids]
    t1 = time.perf_counter()
    for s in statuses:
        check(argv, s)
    return t1 - t0


def batches(reps, mode, n, specs):
    run = {"sequential": sequential, "parallel": parallel}.get(mode)
    if run is None:
        sys.exit(f"spawn_timer: batches: unknown mode {mode!r}")
    medians_in_random_order(reps, specs, lambda argv: run(n, argv))


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    mode, n = sys.argv[1], int(sys.argv[2])
    if mode == "alternate":
        alternate(n, sys.argv[3:])
    elif mode in ("sequential", "parallel"):
        argv = resolve(shlex.split(sys.argv[3]))
        print(f"{(sequential if mode == 'sequential' else parallel)(n, argv):.6f}")
    elif mode == "batches" and len(sys.argv) >= 6:
        batches(n, sys.argv[3], int(sys.argv[4]), sys.argv[5:])
    else:
        sys.exit(f"spawn_timer: unknown mode {mode!r}\n{__doc__}")


if __name__ == "__main__":
    main()
