"""appcmd's output formats for ``list``: the default text lines, ``/text:ATTR`` (one
attribute's value per object), ``/text:*`` (the detail view) and ``/xml``.

Shapes from Microsoft's "Getting Started with AppCmd.exe" (IIS docs): ``/xml`` writes
``<?xml version="1.0" encoding="UTF-8"?>`` and an ``<appcmd>`` element holding one element
per object (``<SITE SITE.NAME="Default Web Site" SITE.ID="1" bindings="http/*:80:"
state="Started" />``); ``/text:<attribute>`` prints that attribute of each object.
"""

from __future__ import annotations

from capi.host.eventlog import quoteattr  # xml.sax.saxutils would load urllib.request

__all__ = ["attributes", "config_attributes", "render_list"]


def attributes(kind: str, item) -> list[tuple[str, str]]:
    """The object's list attributes, in appcmd's order (SITE.NAME, SITE.ID, ...)."""
    if kind == "site":
        bindings = ",".join(f"{b.protocol}/{b.binding_info}" for b in item.bindings)
        return [("SITE.NAME", item.name), ("SITE.ID", str(item.id)), ("bindings", bindings),
                ("state", item.state)]
    return [("APPPOOL.NAME", item.name), ("PipelineMode", "Integrated"),
            ("RuntimeVersion", "v4.0"), ("state", item.state)]


def config_attributes(kind: str, item) -> list[tuple[str, str]]:
    """The configuration element's own attributes (``[site]`` / ``[add]`` in /text:*)."""
    if kind == "site":
        return [("name", item.name), ("id", str(item.id))]
    return [("name", item.name), ("managedRuntimeVersion", "v4.0"),
            ("managedPipelineMode", "Integrated")]


def render_list(kind: str, items: list, fmt: str | None, line) -> tuple[str, str | None]:
    """(output, unknown attribute or None) for ``appcmd list`` in format ``fmt``:
    None (default lines), "xml", "text:*" or "text:ATTR"."""
    if fmt is None or fmt in ("text", "text:"):
        return "".join(line(i) + "\n" for i in items), None
    if fmt == "xml":
        out = ['<?xml version="1.0" encoding="UTF-8"?>', "<appcmd>"]
        for i in items:
            attrs = " ".join(f"{k}={quoteattr(v)}" for k, v in attributes(kind, i))
            out.append(f"    <{kind.upper()} {attrs} />")
        out.append("</appcmd>")
        return "\n".join(out) + "\n", None
    wanted = fmt.partition(":")[2]
    if wanted == "*":
        out = []
        element = "site" if kind == "site" else "add"
        for i in items:
            out.append(f'{kind.upper()} "{i.name}"')
            out += [f'  {k}:"{v}"' for k, v in attributes(kind, i)]
            out.append(f"  [{element}]")
            out += [f'    {k}:"{v}"' for k, v in config_attributes(kind, i)]
        return "".join(x + "\n" for x in out), None
    values = []
    for i in items:
        table = {k.lower(): v for k, v in config_attributes(kind, i) + attributes(kind, i)}
        if wanted.lower() not in table:
            return "", wanted
        values.append(table[wanted.lower()])
    return "".join(v + "\n" for v in values), None
