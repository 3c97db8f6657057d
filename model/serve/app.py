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
import json
import tempfile
from pathlib import Path
from typing import Any

from model.core.console import terminal_text
from model.core.errors import InputError
from model.core.outputs import strict_json_value
from model.inputs.schema import Field, is_missing
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

    @app.errorhandler(Unreadable)
    def unreadable(error: Unreadable):
        message = {"field": "", "message": f"the request: expected {error}"}
        return jsonify({"errors": [message], "lesions": []})

    @app.errorhandler(413)
    def too_large(_):
        message = f"the request: expected at most {MAX_REQUEST_BYTES:,} bytes"
        return jsonify({"errors": [{"field": "", "message": message}], "lesions": []}), 413

    @app.errorhandler(Exception)
    def failed(error: Exception):
        app.logger.exception("unexpected error")
        message = f"the server could not answer ({type(error).__name__}); nothing was changed"
        return jsonify({"errors": [{"field": "", "message": message}], "lesions": []}), 500

    def body() -> dict[str, Any]:
        return request_document(request.get_data())

    def record() -> dict[str, Any]:
        values = body().get("record", {})
        if not isinstance(values, dict):
            raise Unreadable("'record' as an object of field values")
        return values

    @app.post("/api/answer")
    def answer():
        what_if = body().get("what_if", {})
        if not isinstance(what_if, dict):
            raise Unreadable("'what_if' as an object")
        return jsonify(strict_json_value(scorer.answer(record(), what_if)))

    @app.post("/api/value")
    def value():
        return jsonify(strict_json_value(scorer.value(record())))

    @app.post("/api/report")
    def report():
        pdf = body().get("pdf") is True
        try:
            html, printed = scorer.report(record(), pdf=pdf)
        except InputError as error:
            return jsonify({"errors": problem_messages(error)})
        document = {"errors": [], "html": html}
        if printed is not None:
            document["pdf"] = base64.b64encode(printed).decode("ascii")
        return jsonify(document)

    @app.post("/api/upload")
    def upload():
        document = body()
        name, text, data = (document.get(k, "") for k in ("name", "text", "data"))
        if not all(isinstance(v, str) for v in (name, text, data)):
            raise Unreadable("'name', 'text' and 'data' as text")
        if Path(name.lower()).suffix not in UPLOAD_SUFFIXES:
            shown = terminal_text(name)
            message = {"field": "name", "message": f"{shown}: expected a .csv, .json or .xlsx file"}
            return jsonify({"errors": [message], "lesions": []})
        if name.lower().endswith(".xlsx"):
            try:
                content = base64.b64decode(data, validate=True)
            except ValueError:
                shown = terminal_text(name)
                message = {"field": "data", "message": f"{shown}: not readable base64"}
                return jsonify({"errors": [message], "lesions": []})
        else:
            content = text.encode("utf-8")
        return jsonify(read_upload(scorer, name, content))

    return app


class Unreadable(Exception):
    """A request the page would never send: not a JSON object, or a part of the wrong type."""


UPLOAD_SUFFIXES = (".csv", ".json", ".xlsx")


def request_document(raw: bytes) -> dict[str, Any]:
    """A request's JSON object, read as strictly as a patient file.

    Raises
    ------
    Unreadable
        Not UTF-8, not JSON, not an object, or JSON the patient format refuses (a repeated key,
        NaN, deep nesting, a lone surrogate).
    """
    from model.inputs.strict_json import JsonRuleError, strict_json

    try:
        document = strict_json(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise Unreadable("UTF-8 text") from None
    except json.JSONDecodeError:
        raise Unreadable("a JSON object") from None
    except JsonRuleError as error:
        raise Unreadable(error.expected) from None
    if not isinstance(document, dict):
        raise Unreadable("a JSON object")
    return document


def problem_messages(error: InputError) -> list[dict[str, str]]:
    """Each problem of an error as the page shows it: its column, and the whole message."""
    return [{"field": p.column or "", "message": str(p)} for p in error.problems]


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
    stem = "".join(c for c in Path(name).stem if c.isalnum() or c in "-_")[:40] or "upload"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{stem}{suffix}"
        path.write_bytes(content)
        try:
            cohort = as_cohort(str(path), scorer.fit.registry)
        except InputError as error:
            return {"errors": problem_messages(error), "lesions": []}
    names = [f.name for f in scorer.fields]
    lesions = [
        {n: _form_text(cohort.table[n].iloc[i]) for n in names if n in cohort.table}
        for i in range(len(cohort))
    ]
    return {"errors": [], "lesions": lesions}


def _form_text(value: Any) -> str:
    """A table cell as the form shows it: blank when missing, yes/no, numbers as read."""
    import numpy as np

    if is_missing(value):
        return ""
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, float | np.floating):
        return repr(float(value))  # as typed: the canonical CSV's 10 digits would round it
    return str(value)
