"""Validate HTTP traffic against an OpenAPI 3.1 description (for the local fake servers).

The fakes use this module to check that every request the library sends matches the vendor's
published ``requestBody`` schema, and tests use it to check that the fakes' own responses match
the ``responses`` schemas (so a fake cannot drift from the real API unnoticed).

Usage::

    spec = OpenAPISpec.load(path)                  # parsed once per path, then cached
    template = spec.match("POST", "/v1/fine_tuning/jobs/1234/start")  # -> the path template
    errors = spec.validate_request("POST", "/v1/chat/completions", body)
    errors = spec.validate_response("POST", "/v1/chat/completions", 200, body)

Errors come back as a list of readable strings (empty when valid) instead of exceptions, so a
fake server can record them per request and a fixture can assert at teardown that there are none.

OpenAPI 3.1 schemas are JSON Schema Draft 2020-12; ``$ref`` pointers are resolved against the
whole document with the ``referencing`` library; ``format`` is checked (``uuid`` ids matter).
The OpenAPI-only ``discriminator`` keyword is ignored, which is fine because every ``oneOf`` in
these specs also distinguishes its branches with ``const`` fields.

Known defects of a published spec are patched on load and listed in ``SPEC_QUIRKS`` so that the
fakes can stay faithful to the real API rather than to a typo.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

__all__ = ["MISTRAL_SPEC_PATH", "SPEC_QUIRKS", "OpenAPISpec", "mistral_spec"]

MISTRAL_SPEC_PATH = (
    Path(__file__).resolve().parents[2].parent / "shared" / "mistral" / "openapi.yaml"
)
"""``../shared/mistral/openapi.yaml`` relative to the repository root."""

_SPEC_URI = "urn:openapi-spec"
_NUMERIC_KEYWORDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")

SPEC_QUIRKS: dict[str, str] = {
    "ChatCompletionResponse.required": (
        "lists 'data', which is not a property of a chat completion and which the real API does "
        "not send; removed"
    ),
    "string-typed numeric bounds": (
        "some bounds are strings (learning_rate minimum '1e-08'); converted to numbers"
    ),
}
"""Defects of Mistral's published spec that are patched on load (documented, not hidden)."""


def _fix_numbers(node: Any) -> None:
    # A bound written as the string '1e-08' makes jsonschema compare float with str and crash.
    if isinstance(node, dict):
        for key in _NUMERIC_KEYWORDS:
            value = node.get(key)
            if isinstance(value, str):
                with contextlib.suppress(ValueError):
                    node[key] = float(value)
        for value in node.values():
            _fix_numbers(value)
    elif isinstance(node, list):
        for value in node:
            _fix_numbers(value)


def _patch_mistral(spec: dict[str, Any]) -> None:
    schemas = spec.get("components", {}).get("schemas", {})
    chat = schemas.get("ChatCompletionResponse", {})
    for part in chat.get("allOf", []):
        required = part.get("required")
        if isinstance(required, list) and "data" in required:
            part["required"] = [r for r in required if r != "data"]


def _pointer(*parts: str) -> str:
    return "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


class OpenAPISpec:
    """One parsed OpenAPI 3.1 document with cached validators per operation.

    Args:
        document: The parsed YAML/JSON document (patched in place for known quirks).
    """

    def __init__(self, document: dict[str, Any]) -> None:
        _fix_numbers(document)
        _patch_mistral(document)
        self.document = document
        resource = Resource.from_contents(document, default_specification=DRAFT202012)
        self._registry: Registry[Any] = Registry().with_resource(_SPEC_URI, resource)
        self._templates: list[tuple[str, re.Pattern[str]]] = []
        for template in document.get("paths", {}):
            if "#" in template:  # '/v1/conversations#stream': an alternative doc of one path
                continue
            regex = re.sub(r"\\\{[^/]+?\\\}", r"[^/]+", re.escape(template))
            self._templates.append((template, re.compile(f"^{regex}$")))
        # Literal paths win over templated ones ('/v1/files/x' vs '/v1/files/{file_id}').
        self._templates.sort(key=lambda item: ("{" in item[0], -len(item[0])))

    @classmethod
    def load(cls, path: str | Path) -> OpenAPISpec:
        """Parse a spec file once; later calls with the same path reuse the result.

        Args:
            path: The YAML (or JSON) file.

        Returns:
            The spec.
        """
        return _load_cached(str(Path(path).resolve()))

    # -- lookups ---------------------------------------------------------------------------

    def match(self, method: str, path: str) -> str | None:
        """The path template that serves ``method path`` (query string ignored), or None."""
        path = path.split("?", 1)[0]
        method = method.lower()
        for template, regex in self._templates:
            if regex.match(path) and method in self.document["paths"][template]:
                return template
        return None

    def operation(self, method: str, path: str) -> dict[str, Any] | None:
        """The operation object for ``method path``, or None when the spec has none."""
        template = self.match(method, path)
        if template is None:
            return None
        op: dict[str, Any] = self.document["paths"][template][method.lower()]
        return op

    # -- validation ------------------------------------------------------------------------

    def validate_request(
        self,
        method: str,
        path: str,
        body: Any,
        *,
        content_type: str = "application/json",
        query: dict[str, list[str]] | None = None,
    ) -> list[str]:
        """Check a request against its operation's ``requestBody`` and query parameters.

        Args:
            method: HTTP method.
            path: The request path (with or without query string).
            body: The parsed body (a dict of form fields for multipart), or None.
            content_type: The body's media type (parameters after ';' are ignored).
            query: Parsed query parameters, checked against the ``in: query`` parameters.

        Returns:
            Readable error strings; empty when the request is valid.
        """
        template = self.match(method, path)
        if template is None:
            return [f"{method.upper()} {path}: no such operation in the spec"]
        op = self.document["paths"][template][method.lower()]
        errors: list[str] = []
        errors += self._check_query(template, method, op, query or {})
        request_body = op.get("requestBody")
        if request_body is None:
            if body not in (None, b"", ""):
                errors.append(f"{method.upper()} {template}: the spec defines no request body")
            return errors
        if body is None:
            if request_body.get("required"):
                errors.append(f"{method.upper()} {template}: request body is required")
            return errors
        media = content_type.split(";", 1)[0].strip().lower()
        if media not in request_body.get("content", {}):
            allowed = sorted(request_body.get("content", {}))
            errors.append(f"{method.upper()} {template}: content type {media!r} not in {allowed}")
            return errors
        pointer = _pointer(
            "paths", template, method.lower(), "requestBody", "content", media, "schema"
        )
        errors += self._validate(pointer, body, f"{method.upper()} {template} request")
        return errors

    def validate_response(
        self,
        method: str,
        path: str,
        status: int,
        body: Any,
        *,
        content_type: str = "application/json",
    ) -> list[str]:
        """Check a response body against the operation's schema for that status.

        Args:
            method: HTTP method of the request.
            path: The request path.
            status: The HTTP status answered.
            body: The parsed JSON body.
            content_type: The response's media type.

        Returns:
            Readable error strings; empty when valid (or when the spec gives no schema for
            that status and media type, as for most error statuses).
        """
        template = self.match(method, path)
        if template is None:
            return [f"{method.upper()} {path}: no such operation in the spec"]
        responses = self.document["paths"][template][method.lower()].get("responses", {})
        key = str(status) if str(status) in responses else f"{str(status)[0]}XX"
        if key not in responses:
            return []
        media = content_type.split(";", 1)[0].strip().lower()
        if media not in responses[key].get("content", {}):
            return []
        pointer = _pointer(
            "paths", template, method.lower(), "responses", key, "content", media, "schema"
        )
        return self._validate(pointer, body, f"{method.upper()} {template} response {status}")

    def validate_schema(self, name: str, instance: Any) -> list[str]:
        """Check ``instance`` against ``#/components/schemas/<name>``."""
        return self._validate(_pointer("components", "schemas", name), instance, name)

    def _validate(self, pointer: str, instance: Any, where: str) -> list[str]:
        validator = self._validator(pointer)
        found = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
        return [f"{where}: at {_where(e.absolute_path)}: {_best(e)}" for e in found]

    @functools.lru_cache(maxsize=256)  # noqa: B019 - specs live for the whole test session
    def _validator(self, pointer: str) -> jsonschema.Draft202012Validator:
        return jsonschema.Draft202012Validator(
            {"$ref": _SPEC_URI + pointer},
            registry=self._registry,
            format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
        )

    def _check_query(
        self, template: str, method: str, op: dict[str, Any], query: dict[str, list[str]]
    ) -> list[str]:
        index = {
            p["name"]: i
            for i, p in enumerate(op.get("parameters", []))
            if isinstance(p, dict) and p.get("in") == "query"
        }
        errors: list[str] = []
        for name, values in query.items():
            if name not in index:
                errors.append(f"{method.upper()} {template}: unknown query parameter {name!r}")
                continue
            schema = op["parameters"][index[name]].get("schema", {})
            pointer = _pointer(
                "paths", template, method.lower(), "parameters", str(index[name]), "schema"
            )
            for value in values:
                errors += self._validate(
                    pointer, _coerce_query(value, schema), f"query {name!r} of {template}"
                )
        return errors


def _coerce_query(value: str, schema: dict[str, Any]) -> Any:
    types: set[str] = set()
    for option in [schema, *schema.get("anyOf", [])]:
        if isinstance(option.get("type"), str):
            types.add(option["type"])
    if "boolean" in types and value in ("true", "false"):
        return value == "true"
    if "integer" in types:
        try:
            return int(value)
        except ValueError:
            pass
    return value


def _where(path: Iterable[Any]) -> str:
    parts = [str(p) for p in path]
    return "/" + "/".join(parts) if parts else "(root)"


def _best(error: jsonschema.ValidationError) -> str:
    best = jsonschema.exceptions.best_match([error, *(error.context or [])])
    message = best.message if best is not None else error.message
    return message if len(message) <= 400 else message[:400] + "..."


@functools.lru_cache(maxsize=4)
def _load_cached(path: str) -> OpenAPISpec:
    with open(path, encoding="utf-8") as handle:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader is ~10x faster
        document = yaml.load(handle, Loader=loader)
    if not isinstance(document, dict):
        raise ValueError(f"{path}: not an OpenAPI document")
    return OpenAPISpec(document)


def mistral_spec() -> OpenAPISpec | None:
    """Mistral's published spec from ``../shared/mistral``, or None when it is not there."""
    if not MISTRAL_SPEC_PATH.is_file():
        return None
    return OpenAPISpec.load(MISTRAL_SPEC_PATH)
