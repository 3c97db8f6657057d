"""Seconds per lesion report from a saved fit (HTML, and HTML + PDF), the bundled example lesions.

python benchmarks/bench_report.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time

from model.files import bundled
from model.fitting import load_fit
from model.report.patient import lesion_reports


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    fit = load_fit(bundled("fit.nc"))
    patients = bundled("patients_example.csv")
    with tempfile.TemporaryDirectory() as folder:
        lesion_reports(fit, patients, folder)  # warm-up: kernels compiled or loaded from cache
        for pdf in (False, True):
            best = float("inf")
            for _ in range(args.repeat):
                start = time.perf_counter()
                files = lesion_reports(fit, patients, folder, pdf=pdf)
                best = min(best, time.perf_counter() - start)
            kind = "HTML + PDF" if pdf else "HTML"
            n = len(files.pages)
            print(f"{kind:10}: {best / n:.2f} s per lesion ({n} lesions, best of {args.repeat})")


if __name__ == "__main__":
    main()
