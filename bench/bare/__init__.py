"""The bare Django page of the page benchmark, and the WSGI entry point that serves it beside the
portal in the same gunicorn (``bench.bare.wsgi``). Bench-only: nothing here is imported by the
portal, its URLconf or its settings."""
