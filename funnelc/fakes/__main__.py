"""``python -m funnelc.fakes amocrm|bitrix24 [--port N] [--limits]``: serve a fake CRM on
127.0.0.1 (never another interface) until Ctrl+C, and print the address to point funnelc at."""

from __future__ import annotations

import argparse
import sys

from funnelc.fakes._server import FakeServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m funnelc.fakes",
        description="A local fake of amoCRM or Bitrix24 on 127.0.0.1, for trying funnelc "
        "without an account. Its state lives in memory and is gone when it stops.",
    )
    parser.add_argument("crm", choices=["amocrm", "bitrix24"])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free)")
    parser.add_argument(
        "--limits", action="store_true", help="enforce the vendor's rate limits, as in the cloud"
    )
    args = parser.parse_args(argv)
    if args.crm == "amocrm":
        from funnelc.fakes.amocrm import AmoCRM

        amo = AmoCRM(limits=args.limits)
        server = FakeServer(amo, args.port)
        print(f"AMOCRM_BASE_URL={server.origin}")
        print(f"AMOCRM_TOKEN={amo.token}")
    else:
        from funnelc.fakes.bitrix24 import Bitrix24

        portal = Bitrix24(limits=args.limits)
        server = FakeServer(portal, args.port)
        print(f"BITRIX24_WEBHOOK_URL={server.origin}{portal.webhook_path}")
    print("(a local fake: press Ctrl+C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
