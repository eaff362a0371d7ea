"""Blueprint text inside Cloud Workflows sources stays a literal (no pulumi import).

Workflows evaluates a `${…}` expression wherever it finds one, in string values and in map keys alike,
and has no escape for a literal `${`. A blueprint value that reaches a workflow source (a drift feature
name as a key of the monitoring job's thresholds, a network path) therefore goes through `inert`: it is
returned unchanged when nothing in it would be evaluated; otherwise the offending string, or the whole
map when one of its keys is offending, becomes `${json.decode(base64.decode("<base64 of its JSON>"))}`,
an expression whose result is exactly that value. Standard base64 (the alphabet of Workflows'
`base64.decode`) holds only `A-Z a-z 0-9 + / =`: nothing in it ends the string literal or opens an
expression, and the decoded value is data (Workflows never evaluates an expression's result).
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

EXPRESSION = "${"
"""What Workflows evaluates: anything containing it is an expression."""
LITERAL = re.compile(r'\$\{json\.decode\(base64\.decode\("([A-Za-z0-9+/=]*)"\)\)\}')
"""The expression `literal` writes (group 1: standard base64 of the value's JSON)."""


def literal(value: Any) -> str:
    """A Workflows expression that evaluates to `value` (any JSON value), whatever text it holds."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return f'${{json.decode(base64.decode("{base64.b64encode(text.encode("utf-8")).decode("ascii")}"))}}'


def resolved(value: Any) -> Any:
    """What Workflows makes of a `literal` expression (the value itself); anything else unchanged."""
    found = LITERAL.fullmatch(value) if isinstance(value, str) else None
    return json.loads(base64.b64decode(found.group(1)).decode("utf-8")) if found else value


def _evaluated(text: Any) -> bool:
    return isinstance(text, str) and EXPRESSION in text


def inert(value: Any) -> Any:
    """`value` as a workflow source may hold it: unchanged where Workflows would evaluate nothing in it."""
    if isinstance(value, str):
        return literal(value) if _evaluated(value) else value
    if isinstance(value, dict):
        if any(_evaluated(key) for key in value):
            return literal(value)
        return {key: inert(item) for key, item in value.items()}
    if isinstance(value, list):
        return [inert(item) for item in value]
    return value
