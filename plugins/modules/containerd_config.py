#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, netclaim maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: containerd_config
short_description: Set keys in a containerd config.toml (version 3) without rewriting the rest
version_added: 0.1.0
author:
  - netclaim maintainers (@netclaim)
description:
  - Sets individual keys in tables of a containerd 2.x C(config.toml) (V(version = 3)).
  - The file is edited line by line, so comments, order, quoting and every key this module is
    not asked about stay as they were. A key already holding the wanted value is left alone,
    even if it is spelled differently (V("a") versus V('a')).
  - After editing, the whole file is parsed again and every wanted value is looked up; if the
    file does not parse or a value is not where it should be (for example because the table is
    written as an inline table), the task fails and the file is not written.
options:
  path:
    description:
      - The config file. Missing files are created with V(version = 3) and the wanted keys.
    type: path
    required: true
  settings:
    description:
      - The keys to set.
    type: list
    elements: dict
    required: true
    suboptions:
      table:
        description:
          - The table, as a TOML key, for example V(plugins.'io.containerd.nri.v1.nri').
        type: str
        required: true
      key:
        description:
          - The key inside O(settings[].table), a bare key such as V(enable_cdi).
        type: str
        required: true
      value:
        description:
          - The value. Booleans, integers, strings and lists of these are supported.
        type: raw
        required: true
  mode:
    description:
      - Permissions of a newly created file. An existing file keeps its permissions.
    type: raw
    default: "0644"
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
requirements:
  - Python 3.11 or later on the target (C(tomllib)), or the C(tomli) package.
notes:
  - Only version 3 files (containerd 2.0 to 2.2) are edited; an older file fails with a hint to
    run C(containerd config migrate).
"""

EXAMPLES = r"""
- name: Turn on CDI and NRI
  netclaim.dra.containerd_config:
    path: /etc/containerd/config.toml
    settings:
      - table: plugins.'io.containerd.cri.v1.runtime'
        key: enable_cdi
        value: true
      - table: plugins.'io.containerd.cri.v1.runtime'
        key: cdi_spec_dirs
        value: [/etc/cdi, /var/run/cdi]
      - table: plugins.'io.containerd.nri.v1.nri'
        key: disable
        value: false
"""

RETURN = r"""
updated:
  description: The settings that were (or in check mode would be) written, as C(table.key).
  returned: success
  type: list
  elements: str
  sample: ["plugins.'io.containerd.nri.v1.nri'.disable"]
"""

import json
import os
import re
import tempfile

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

try:
    import tomllib
except ImportError:  # Python < 3.11
    try:
        import tomli as tomllib
    except ImportError:
        tomllib = None

CONFIG_VERSION = 3
_KEY_LINE = re.compile(r"""^(\s*)([A-Za-z0-9_-]+|"[^"]*"|'[^']*')\s*=""")
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


class ConfigError(Exception):
    """The file cannot be edited as asked; the message says why."""


def table_path(table):
    """The key segments of a TOML table name, e.g. ['plugins', 'io.containerd.nri.v1.nri']."""
    try:
        parsed = tomllib.loads("[%s]\n" % table)
    except tomllib.TOMLDecodeError:
        raise ConfigError("%r is not a TOML table name" % table) from None
    segments = []
    while parsed:
        ((name, parsed),) = parsed.items()
        segments.append(name)
    return segments


def _header(line):
    """The table path a [header] line opens, None for other lines, [] for an [[array]]."""
    stripped = line.strip()
    if not stripped.startswith("["):
        return None
    if stripped.startswith("[["):
        return []
    # Quoted names may contain "]"; let the parser find where the header ends.
    try:
        parsed = tomllib.loads(stripped + "\n")
    except tomllib.TOMLDecodeError:
        return None
    segments = []
    while isinstance(parsed, dict) and parsed:
        ((name, parsed),) = parsed.items()
        segments.append(name)
    return segments


def render(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        if "'" not in value and "\n" not in value:
            return "'%s'" % value
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(render(item) for item in value) + "]"
    raise ConfigError(
        "unsupported value %r: use a boolean, integer, string or list of these" % (value,)
    )


def _lookup(document, segments):
    node = document
    for name in segments:
        if not isinstance(node, dict) or name not in node:
            return None, False
        node = node[name]
    return node, True


def _value_extent(lines, start, end):
    """Index after the last line of the key/value pair that starts at lines[start]."""
    for stop in range(start + 1, end + 1):
        try:
            tomllib.loads("".join(lines[start:stop]))
            return stop
        except tomllib.TOMLDecodeError:
            continue
    raise ConfigError("cannot tell where the value on line %d ends" % (start + 1))


def _region(lines, segments):
    """(header index, end index) of the table's own lines, or None if it has no header."""
    for index, line in enumerate(lines):
        if _header(line) == segments:
            end = index + 1
            while end < len(lines) and _header(lines[end]) is None:
                end += 1
            return index, end
    return None


def set_key(lines, table, segments, key, value):
    """Edit lines in place so that table.key = value."""
    rendered = "%s = %s\n" % (key if _BARE_KEY.match(key) else json.dumps(key), render(value))
    region = _region(lines, segments)
    if region is None:
        if lines and lines[-1].strip():
            lines.append("\n")
        lines.extend(["[%s]\n" % table, "  " + rendered])
        return
    head, end = region
    last_key = head
    indent = re.match(r"\s*", lines[head]).group(0) + "  "
    index = head + 1
    while index < end:
        match = _KEY_LINE.match(lines[index])
        if not match:
            index += 1
            continue
        stop = _value_extent(lines, index, end)
        if match.group(2).strip("'\"") == key:
            lines[index:stop] = [match.group(1) + rendered]
            return
        indent, last_key, index = match.group(1), stop - 1, stop
    if not lines[last_key].endswith("\n"):
        lines[last_key] += "\n"
    lines.insert(last_key + 1, indent + rendered)


def edit(text, settings):
    """Return (new text, updated names)."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("the file is not valid TOML: %s" % exc) from exc
    if text.strip() and document.get("version") != CONFIG_VERSION:
        raise ConfigError(
            "the file is config version %r, not %d: migrate it with `containerd config migrate`"
            % (document.get("version"), CONFIG_VERSION)
        )
    lines = text.splitlines(True) if text.strip() else ["version = %d\n" % CONFIG_VERSION]
    updated = []
    for item in settings:
        segments = table_path(item["table"])
        current, found = _lookup(document, [*segments, item["key"]])
        if found and current == item["value"] and type(current) is type(item["value"]):
            continue
        set_key(lines, item["table"], segments, item["key"], item["value"])
        updated.append("%s.%s" % (item["table"], item["key"]))
    new_text = "".join(lines)
    try:
        result = tomllib.loads(new_text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("the edited file would not parse (%s); edit it by hand" % exc) from exc
    for item in settings:
        value, found = _lookup(result, [*table_path(item["table"]), item["key"]])
        if not found or value != item["value"]:
            raise ConfigError(
                "could not set %s.%s: the table is written in a form this module does not edit "
                "(inline table or dotted keys); edit it by hand" % (item["table"], item["key"])
            )
    return new_text, updated


def write(module, path, text):
    directory = os.path.dirname(path) or "."
    fd, temp = tempfile.mkstemp(dir=directory, prefix=".containerd-config-")
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    if os.path.exists(path):
        module.set_mode_if_different(temp, "0%o" % (os.stat(path).st_mode & 0o7777), False)
    else:
        module.set_mode_if_different(temp, module.params["mode"], False)
    module.atomic_move(temp, path)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            settings=dict(
                type="list",
                elements="dict",
                required=True,
                options=dict(
                    table=dict(type="str", required=True),
                    key=dict(type="str", required=True, no_log=False),
                    value=dict(type="raw", required=True),
                ),
            ),
            mode=dict(type="raw", default="0644"),
        ),
        supports_check_mode=True,
    )
    if tomllib is None:
        module.fail_json(msg=missing_required_lib("tomli (or Python 3.11+)"))
    path = module.params["path"]
    before = ""
    if os.path.exists(path):
        with open(path) as handle:
            before = handle.read()
    try:
        after, updated = edit(before, module.params["settings"])
    except ConfigError as exc:
        module.fail_json(msg="%s: %s" % (path, exc))
    changed = after != before
    if changed and not module.check_mode:
        if not os.path.isdir(os.path.dirname(path) or "."):
            module.fail_json(msg="%s: directory %s does not exist" % (path, os.path.dirname(path)))
        write(module, path, after)
    result = dict(changed=changed, updated=updated)
    if module._diff:
        result["diff"] = dict(before=before, after=after, before_header=path, after_header=path)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
