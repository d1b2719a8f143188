# Copyright: (c) 2026, netclaim maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one exception type the modules report. Private to this collection."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class NetclaimError(Exception):
    """A failure to report as-is; ``result`` carries what is known so far (changed, result)."""

    def __init__(self, message, result=None):
        super(NetclaimError, self).__init__(message)
        self.result = result or {}
