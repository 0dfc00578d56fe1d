"""`storebench run --inject BACKEND.OP=+Xms|+Y%`: add a known delay to one op, to test a gate.
`BACKEND.all=…` adds it to every op of the round (a backend slower as a whole: a ranking's test).

The delay is added inside the timed call, so it lands in that op's samples exactly as a real
slowdown of the data layer would:

- `+Xms` waits X milliseconds after each call;
- `+Y%` times the call itself and then waits Y % of that call's own duration, so every sample
  is scaled by (1 + Y/100): p50 and p99 both move by Y %.

Waiting is a busy-wait on `perf_counter_ns` (sleep overshoots by tens of microseconds, more
than a whole embedded write), with a sleep for the bulk of long delays. The wait is never
shorter than asked; the wrapper's own cost (a few hundred ns) comes on top. The injection is
recorded in the results (`run.params.inject`) so an injected run is never mistaken for a
real measurement.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from storebench.core.timing import wait_until
from storebench.core.workload import OPS
from storebench.errors import UsageError

SPEC = re.compile(r"^(?P<backend>[A-Za-z0-9_\-]+)\.(?P<op>[a-z_]+)=\+(?P<amount>\d+(?:\.\d+)?)(?P<unit>ms|%)$")
MAX_DELAY_MS = 60_000.0
MAX_PERCENT = 10_000.0
EVERY_OP = "all"  # BACKEND.all: every op of the round


class InjectError(UsageError, ValueError):
    """A bad --inject spec; the message is one line saying what is accepted."""


@dataclass(frozen=True)
class Injection:
    backend: str
    op: str
    unit: str  # "ms" or "%"
    amount: float

    @property
    def ops(self) -> tuple[str, ...]:
        """The ops it delays."""
        return OPS if self.op == EVERY_OP else (self.op,)

    def record(self) -> dict:
        """The form written to run.params.inject."""
        return {**asdict(self), "spec": f"{self.backend}.{self.op}=+{self.amount:g}{self.unit}"}


def parse(text: str, backend_names: list[str]) -> Injection:
    """Parse `BACKEND.OP=+Xms` or `BACKEND.OP=+Y%` for one of `backend_names` (those being run);
    raise InjectError naming what is wrong."""
    match = SPEC.match(text.strip())
    if not match:
        raise InjectError(f"--inject {text!r}: expected BACKEND.OP=+Xms or BACKEND.OP=+Y%, "
                          f"e.g. sqlite3.add_message=+100%")
    backend, op, unit = match["backend"], match["op"], match["unit"]
    amount = float(match["amount"])
    if backend not in backend_names:
        raise InjectError(f"--inject {text!r}: backend {backend!r} is not in this run; "
                          f"backends being run: {', '.join(backend_names)}")
    if op not in OPS and op != EVERY_OP:
        raise InjectError(f"--inject {text!r}: unknown or untimed op {op!r}; valid ops: {', '.join(OPS)}, "
                          f"or {EVERY_OP} for every one of them")
    limit = MAX_DELAY_MS if unit == "ms" else MAX_PERCENT
    if not 0 < amount <= limit:
        raise InjectError(f"--inject {text!r}: the delay must be above 0 and at most {limit:g}{unit}")
    return Injection(backend, op, unit, amount)


def wrap(fn: Callable, injection: Injection) -> Callable:
    """`fn` with the injected delay added after each call (also after a failing one)."""
    clock = time.perf_counter_ns
    if injection.unit == "ms":
        delay_ns = int(injection.amount * 1_000_000)

        def delayed(*args):
            try:
                return fn(*args)
            finally:
                wait_until(clock() + delay_ns)
    else:
        factor = injection.amount / 100

        def delayed(*args):
            t0 = clock()
            try:
                return fn(*args)
            finally:
                t1 = clock()
                wait_until(t1 + int((t1 - t0) * factor))
    return delayed
