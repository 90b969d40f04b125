"""Profile the model with pyinstrument (the ``dev`` extra): where a big market's time goes.

``python -m bench.profile_model --buyers 1000000 --ticks 60`` builds the default market
(outside the profile), runs it under pyinstrument's statistical profiler, and prints the
call tree (``--flat`` for self time per function). Used for docs/performance.md.
"""

from __future__ import annotations

import argparse


def main(argv: list[str] | None = None) -> None:
    """Parse the options, profile ``ticks`` steps of a ``buyers``-buyer model, print."""
    ap = argparse.ArgumentParser(prog="python -m bench.profile_model", description=__doc__)
    ap.add_argument("--buyers", type=int, default=1_000_000)
    ap.add_argument("--ticks", type=int, default=60)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--interval", type=float, default=0.0005, help="sampling interval, s")
    ap.add_argument("--flat", action="store_true", help="self time per function")
    args = ap.parse_args(argv)

    from pyinstrument import Profiler

    from marketsim.model import AIMarketModel

    model = AIMarketModel(rng=args.seed, **{"buyers.count": args.buyers})
    profiler = Profiler(interval=args.interval)
    profiler.start()
    model.run(ticks=args.ticks)
    profiler.stop()
    print(profiler.output_text(unicode=True, color=False, flat=args.flat))


if __name__ == "__main__":
    main()
