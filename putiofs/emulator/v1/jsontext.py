"""JSON that is already encoded, for answers nested deeper than ``json.dumps`` recurses."""

from __future__ import annotations

import json
from typing import Any


class JsonText(str):
    """A JSON document as text; :func:`dumps` splices it into the payload unchanged."""


_MARK = "\x00json-text\x00"


def dumps(payload: Any) -> str:
    """``json.dumps(payload)`` (UTF-8 text, not ASCII-escaped), where ``payload["response"]
    ["results"]`` may be a :class:`JsonText`."""
    response = payload.get("response") if isinstance(payload, dict) else None
    results = response.get("results") if isinstance(response, dict) else None
    if not isinstance(results, JsonText):
        return json.dumps(payload, ensure_ascii=False)
    marked = {**payload, "response": {**response, "results": _MARK}}
    text = json.dumps(marked, ensure_ascii=False)
    return text.replace(json.dumps(_MARK), results, 1)
