"""Keyword advice in error messages, reworded for another interface (the command line).

Messages are written for Python callers and name the keyword that fixes the problem in one
form: ``name=`` (``"pass api_key="``) or ``name=VALUE`` (``"val_size=0"``,
``"base_url='http://...'"``). That convention lets an interface without keywords say the same
thing in its own words: the CLI maps each keyword to its flag or environment variable
(``out_dir`` -> ``--out-dir``), or to ``""`` when it has no such option, which drops the "or
pass name=" clause instead of giving advice the user cannot follow. Keywords a mapping does not
know are left as written. A mapped keyword with an underscore (``base_url``) is never an English
word, so it is reworded where it stands bare too (``"base_url must start with http://"``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping

__all__ = ["keywords", "reword"]

_VALUE = r"(?:'[^']*'|\"[^\"]*\"|[\w.+-]+)"
_KEYWORD = re.compile(rf"(?<![\w.-])([a-z][a-z0-9_]*)=({_VALUE})?(?![\w=])")


def keywords(message: str) -> list[str]:
    """The keywords a message names as advice (``name=`` or ``name=VALUE``), in order.

    Args:
        message: An error message written for Python callers.

    Returns:
        Each keyword once, in the order it first appears.
    """
    return list(dict.fromkeys(m.group(1) for m in _KEYWORD.finditer(message)))


def reword(message: str, words: Mapping[str, str]) -> str:
    """Say a message's keyword advice in another interface's words.

    Args:
        message: An error message written for Python callers.
        words: Keyword -> what the other interface calls it (``"--out-dir"``,
            ``"MISTRAL_API_KEY"``), or ``""`` where it has no such option.

    Returns:
        The message with each mapped keyword replaced (``name=VALUE`` becomes ``--flag VALUE``)
        and each clause about an unavailable keyword removed.
    """
    for name in keywords(message):
        if name not in words:
            continue
        token = rf"(?<![\w.-]){re.escape(name)}=(?:{_VALUE})?(?![\w=])"
        flag = words[name]
        if flag:
            message = re.sub(token, functools.partial(_as_flag, flag), message)
        else:
            message = _drop_clause(message, token)
    for name, flag in words.items():
        if "_" in name and flag:
            message = re.sub(rf"(?<![\w./-]){re.escape(name)}(?![\w=])", flag, message)
    return message


def _as_flag(flag: str, match: re.Match[str]) -> str:
    value = match.group(0).partition("=")[2].strip("'\"")
    return f"{flag} {value}" if value else flag


def _drop_clause(message: str, token: str) -> str:
    # "... or pass name=" / ", and name=VALUE" / "pass name= or ...": remove the alternative.
    before = rf",?\s+(?:or|and)\s+[^,;:()]*?{token}"
    after = rf"(?:pass\s+)?{token}\s+(?:or|and)\s+"
    for pattern in (before, after):
        shorter, count = re.subn(pattern, "", message, count=1)
        if count:
            return shorter
    return message
