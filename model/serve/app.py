"""The Flask application behind ``rnbayes serve``: one page, its script, and JSON answers.

Routes:

- ``GET /``: the page (a form generated from the cohort format, the answer panels);
- ``GET /static/serve.js``, ``GET /static/serve.css``: its script and style, from the package;
- ``POST /api/answer``, ``POST /api/value``: :class:`~model.serve.answers.LiveScorer`'s answers
  to a JSON ``{"record": {...}, "what_if": {...}}``;
- ``POST /api/report``: the lesion's report page (and, asked, its PDF as base64), to save;
- ``POST /api/upload``: a patients file (CSV or JSON as text, an ``.xlsx`` workbook as
  base64), read like ``rnbayes predict`` reads it, back as form values.

Flask was chosen for being small, long maintained and enough for one local user: routing, JSON
requests and a test client. Every response forbids content from anywhere but this server
(``Content-Security-Policy: default-src 'self'``), so the page can make no request off the
machine, and the page writes every value with ``textContent`` (never as HTML). A bad value comes
back as a message for its field with status 200, never as an error page.
"""

from __future__ import annotations

import base64
import math
import tempfile
from pathlib import Path
from typing import Any

from model.core.errors import InputError
from model.inputs.schema import Field
from model.serve.answers import LiveScorer

MAX_REQUEST_BYTES = 2_000_000
"""Largest request accepted (an uploaded patients file included)."""

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

STATIC = Path(__file__).parent / "static"


def create_app(scorer: LiveScorer):
    """The application serving ``scorer``'s answers.

    Parameters
    ----------
    scorer : LiveScorer

    Returns
    -------
    flask.Flask
    """
    from flask import Flask, Response, jsonify, request
    from jinja2 import Environment, PackageLoader, select_autoescape

    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
    pages = Environment(
        loader=PackageLoader("model.serve", "templates"), autoescape=select_autoescape()
    )
    groups = field_groups(scorer)
    cohort = scorer.fit.provenance["cohort"]

    @app.after_request
    def secure(response):
        response.headers.update(SECURITY_HEADERS)
        return response

    @app.get("/")
    def page():
        html = pages.get_template("page.html.j2").render(
            groups=groups,
            cohort=cohort.get("name", "an unnamed cohort"),
            synthetic=bool(cohort.get("synthetic")),
        )
        return Response(html, mimetype="text/html")

    @app.get("/static/<name>")
    def static(name: str):
        kinds = {"serve.js": "text/javascript", "serve.css": "text/css"}
        if name not in kinds:
            return Response("not found", status=404, mimetype="text/plain")
        return Response((STATIC / name).read_text(encoding="utf-8"), mimetype=kinds[name])

    def body() -> dict[str, Any]:
        document = request.get_json(silent=True)
        return document if isinstance(document, dict) else {}

    def record() -> dict[str, Any]:
        values = body().get("record")
        return values if isinstance(values, dict) else {}

    @app.post("/api/answer")
    def answer():
        what_if = body().get("what_if")
        return jsonify(
            _finite(scorer.answer(record(), what_if if isinstance(what_if, dict) else {}))
        )

    @app.post("/api/value")
    def value():
        return jsonify(_finite(scorer.value(record())))

    @app.post("/api/report")
    def report():
        pdf = body().get("pdf") is True
        try:
            html, printed = scorer.report(record(), pdf=pdf)
        except InputError as error:
            return jsonify({"errors": [str(p) for p in error.problems]})
        document = {"errors": [], "html": html}
        if printed is not None:
            document["pdf"] = base64.b64encode(printed).decode("ascii")
        return jsonify(document)

    @app.post("/api/upload")
    def upload():
        document = body()
        name = str(document.get("name", ""))
        if name.lower().endswith(".xlsx"):
            try:
                content = base64.b64decode(str(document.get("data", "")), validate=True)
            except ValueError:
                return jsonify({"errors": [f"{name}: not a readable upload"], "lesions": []})
        else:
            content = str(document.get("text", "")).encode("utf-8")
        return jsonify(read_upload(scorer, name, content))

    return app


def field_groups(scorer: LiveScorer) -> list[dict[str, Any]]:
    """The form's fields under headings: the lesion, each modality, the clinical context."""
    from model.inputs.schema import modality_fields

    taken: set[str] = set()
    groups = []
    for modality in scorer.fit.registry:
        names = {f.name for f in modality_fields(modality)}
        fields = [_control(f) for f in scorer.fields if f.name in names]
        taken |= names
        groups.append({"title": modality.label, "fields": fields})
    identity = [_control(f) for f in scorer.fields if f.name in ("patient_id", "center")]
    taken |= {"patient_id", "center"}
    rest = [_control(f) for f in scorer.fields if f.name not in taken]
    return [
        {"title": "Lesion", "fields": identity},
        *groups,
        {"title": "Clinical context and follow-up", "fields": rest},
    ]


def _control(field: Field) -> dict[str, Any]:
    choices = ()
    if field.kind in ("choice", "yesno"):
        choices = ("", *field.choices, *field.missing_words)
    return {"name": field.name, "kind": field.kind, "description": field.description,
            "choices": choices}  # fmt: skip


def read_upload(scorer: LiveScorer, name: str, content: bytes) -> dict[str, Any]:
    """A patients file's lesions as form values, or its problems.

    Parameters
    ----------
    scorer : LiveScorer
    name : str
        The file's name: ``.json`` is read as a single-patient file, ``.xlsx`` as a workbook,
        anything else as CSV.
    content : bytes
        Its content.

    Returns
    -------
    dict
        ``errors`` (problem texts) and ``lesions`` (one dict of field texts per lesion).
    """
    from model.scoring.predict import as_cohort

    suffix = Path(name.lower()).suffix
    suffix = suffix if suffix in (".json", ".xlsx") else ".csv"
    stem = "".join(c for c in Path(name).stem if c.isalnum() or c in "-_")[:40] or "upload"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{stem}{suffix}"
        path.write_bytes(content)
        try:
            cohort = as_cohort(str(path), scorer.fit.registry)
        except InputError as error:
            return {"errors": [str(p) for p in error.problems], "lesions": []}
    names = [f.name for f in scorer.fields]
    lesions = [
        {n: _form_text(cohort.table[n].iloc[i]) for n in names if n in cohort.table}
        for i in range(len(cohort))
    ]
    return {"errors": [], "lesions": lesions}


def _form_text(value: Any) -> str:
    """A table cell as the form shows it: blank when missing, yes/no, numbers as read."""
    import numpy as np
    import pandas as pd

    if value is None or value is pd.NA:
        return ""
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, float | np.floating):
        return "" if math.isnan(value) else repr(float(value))
    return str(value)


def _finite(document: Any) -> Any:
    """JSON cannot hold NaN or infinity: they become null."""
    if isinstance(document, dict):
        return {k: _finite(v) for k, v in document.items()}
    if isinstance(document, list):
        return [_finite(v) for v in document]
    if isinstance(document, float) and not math.isfinite(document):
        return None
    return document
