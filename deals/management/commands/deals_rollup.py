"""Look after the pipeline's maintained figures (deals.rollup): fold the recent changes, check the
figures against the deals, or recompute them."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from deals import rollup


class Command(BaseCommand):
    help = (
        "Fold the pipeline rollup's recent changes (the default; Celery beat does it every minute), "
        "--check it against a live aggregate of the deals, or --rebuild it from them."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--check", action="store_true", help="compare with the deals; fail on a difference"
        )
        parser.add_argument("--rebuild", action="store_true", help="recompute every figure (writers wait)")

    def handle(self, *args: Any, check: bool, rebuild: bool, **options: Any) -> None:
        if rebuild:
            rollup.rebuild()
            self.stdout.write("Rebuilt the pipeline rollup from the deals.")
        else:
            self.stdout.write(f"Folded {rollup.fold()} rows.")
        if check:
            problems = rollup.all_differences()
            for key, expected, held in problems[:20]:
                self.stderr.write(f"{key}: the deals say {expected}, the rollup holds {held}")
            if problems:
                raise CommandError(f"{len(problems)} figures differ from the deals.")
            self.stdout.write("Every figure matches the deals.")
