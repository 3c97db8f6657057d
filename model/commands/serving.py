"""``rnbayes serve``: the live tumor-board page on this machine."""

from __future__ import annotations

import argparse

from model.commands.common import console
from model.core.numbers import whole_option

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def add_serve(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="a local web page that scores a lesion as its values are typed, with what-ifs",
        description="Serve the tumor-board page: type or load a lesion and see P(recurrence) with "
        "its interval on the decision scale, the evidence waterfall, the categories, what a "
        "pending PET or a rescan's growth would do, the recommendation with its stability and the "
        "value of more information; save the report. Bound to 127.0.0.1 unless --host says "
        "otherwise. Stop with Ctrl-C.",
    )
    p.add_argument("fit", help="fit file")
    p.add_argument("--params", help="decision parameters (TOML; default data/decision.toml)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument(
        "--port", type=whole_option, default=8765, help="port (default 8765; 0: any free port)"
    )
    p.set_defaults(run=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    from werkzeug.serving import make_server

    from model.decision.parameters import load_decision_parameters
    from model.fitting.sampling import load_fit
    from model.serve.answers import LiveScorer
    from model.serve.app import create_app

    scorer = LiveScorer(load_fit(args.fit), load_decision_parameters(args.params))
    scorer.answer({"patient_id": "warm-up", "center": "warm-up"})  # compile before the first user
    server = make_server(args.host, args.port, create_app(scorer), threaded=True)
    out = console()
    if args.host not in LOCAL_HOSTS:
        out.print(
            f"Warning: bound to {args.host}, reachable from other machines; the page has no "
            "login. Use it only on a trusted network."
        )
    out.print(f"Serving on http://{args.host}:{server.server_port}/ (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


COMMANDS = (add_serve,)
