# Copyright: (c) 2026, netclaim maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""API access for the modules: kubernetes.core's client, our apply/delete/wait steps.

Private to this collection. Every write is a server-side apply (or delete) with
``dryRun=All`` in check mode, so check mode sees the API server's defaulting and
validation; ``changed`` comes from comparing the object before and after."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import time

from ansible.module_utils.common.dict_transformations import recursive_diff
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import (
    get_api_client,
)
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import (
    AnsibleK8SModule,
)
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.exceptions import (
    CoreException,
)
from ansible_collections.netclaim.dra.plugins.module_utils._args import WAIT_ARG_SPEC
from ansible_collections.netclaim.dra.plugins.module_utils._errors import NetclaimError

try:
    from kubernetes.client.exceptions import ApiException
    from kubernetes.dynamic.exceptions import (
        NotFoundError,
        ResourceNotFoundError,
        ResourceNotUniqueError,
    )
    from urllib3.exceptions import HTTPError
except ImportError:
    # AnsibleK8SModule reports a missing kubernetes library before anything here runs.
    pass

FIELD_MANAGER = "netclaim.dra"

# Fields the server owns; they change without the user asking, so they never count as a change.
_SERVER_METADATA = ("managedFields", "resourceVersion", "generation")


class NetclaimModule(AnsibleK8SModule):
    """kubernetes.core's module wrapper (library checks, no_log for kubeconfig secrets)."""

    def __init__(self, **kwargs):
        # Every netclaim module supports check mode: writes go out with dryRun=All.
        kwargs.setdefault("supports_check_mode", True)
        super(NetclaimModule, self).__init__(**kwargs)

    def fail_from_error(self, error):
        self.fail_json(msg=str(error), **error.result)


def connect(module):
    """A Service on the cluster named by the auth options or ``K8S_AUTH_*`` variables."""
    try:
        return Service(get_api_client(module=module), module)
    except CoreException as e:
        raise NetclaimError(str(e)) from e
    except (ApiException, HTTPError) as e:
        raise NetclaimError("Could not reach the Kubernetes API server: {0}".format(e)) from e


def describe(definition):
    meta = definition["metadata"]
    name = meta["name"]
    if meta.get("namespace"):
        name = "{0}/{1}".format(meta["namespace"], name)
    return "{0} {1}".format(definition["kind"], name)


def clean(obj):
    """``obj`` without the bookkeeping that only clutters results."""
    if not obj:
        return {}
    obj = copy.deepcopy(obj)
    obj.get("metadata", {}).pop("managedFields", None)
    return obj


def comparable(obj):
    """What the user controls: no status, no server-maintained metadata."""
    obj = clean(obj)
    obj.pop("status", None)
    for key in _SERVER_METADATA:
        obj.get("metadata", {}).pop(key, None)
    return obj


def _error_body(error):
    body = getattr(error, "body", None)
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    try:
        parsed = json.loads(body) if body else {}
    except ValueError:
        parsed = {}
    return parsed if isinstance(parsed, dict) else {}


def api_error(verb, definition, error):
    """NetclaimError for a failed call: the API server's message plus each field and reason."""
    label = describe(definition)
    if not isinstance(error, ApiException):
        return NetclaimError(
            "Failed to {0} {1}: cannot reach the Kubernetes API server: {2}".format(
                verb, label, error
            )
        )
    body = _error_body(error)
    causes = (body.get("details") or {}).get("causes") or []
    detail = {
        "status": error.status,
        "reason": body.get("reason") or error.reason,
        "causes": [
            {"field": c.get("field"), "reason": c.get("reason"), "message": c.get("message")}
            for c in causes
        ],
    }
    message = body.get("message") or "{0} {1}".format(error.status, error.reason)
    return NetclaimError(
        "Failed to {0} {1}: {2}".format(verb, label, message), result={"error": detail}
    )


def _immutable_spec(error):
    if getattr(error, "status", None) != 422:
        return False
    causes = (_error_body(error).get("details") or {}).get("causes") or []
    return any(
        (c.get("field") or "").startswith("spec") and "immutable" in (c.get("message") or "")
        for c in causes
    )


def _hint(api_version):
    if api_version.startswith("netclaim.io/"):
        return "; install the CustomResourceDefinitions from the collection's crds/ directory"
    if api_version.startswith("resource.k8s.io/"):
        return "; DRA with resource.k8s.io/v1 needs Kubernetes 1.34 or later"
    return ""


def _gone(obj):
    return obj is None


class Service:
    """Present/absent/wait for one object at a time on top of kubernetes.core's client."""

    def __init__(self, client, module):
        self.client = client
        self.module = module

    @property
    def _write_params(self):
        # A fresh list each call: the dynamic client appends to query_params in place.
        params = {"query_params": [("fieldValidation", "Strict")]}
        if self.module.check_mode:
            params["dry_run"] = "All"
        return params

    def resource(self, definition):
        kind, api_version = definition["kind"], definition["apiVersion"]
        try:
            return self.client.resource(kind, api_version)
        except (ResourceNotFoundError, ResourceNotUniqueError) as e:
            raise NetclaimError(
                "The API server does not serve {0} in {1}{2}".format(
                    kind, api_version, _hint(api_version)
                )
            ) from e
        except (ApiException, HTTPError) as e:
            raise api_error("look up the API of", definition, e) from e

    def get(self, resource, definition):
        meta = definition["metadata"]
        try:
            return self.client.client.get(
                resource, name=meta["name"], namespace=meta.get("namespace")
            ).to_dict()
        except NotFoundError:
            return None
        except (ApiException, HTTPError) as e:
            raise api_error("read", definition, e) from e

    def list(self, resource, field_selector=None, label_selector=None):
        try:
            listed = self.client.client.get(
                resource, field_selector=field_selector, label_selector=label_selector
            ).to_dict()
        except (ApiException, HTTPError) as e:
            what = {"kind": resource.kind, "metadata": {"name": "(list)"}}
            raise api_error("list", what, e) from e
        return listed.get("items") or []

    def _apply(self, resource, definition):
        meta = definition["metadata"]
        return self.client.client.server_side_apply(
            resource,
            body=definition,
            name=meta["name"],
            namespace=meta.get("namespace"),
            field_manager=FIELD_MANAGER,
            # Ansible is the source of truth for the fields it sets.
            force_conflicts=True,
            **self._write_params,
        ).to_dict()

    def _delete(self, resource, definition):
        meta = definition["metadata"]
        params = self._write_params
        params.pop("query_params")
        try:
            self.client.client.delete(
                resource, name=meta["name"], namespace=meta.get("namespace"), **params
            )
        except NotFoundError:
            pass
        except (ApiException, HTTPError) as e:
            raise api_error("delete", definition, e) from e

    def wait_for(self, resource, definition, predicate, what, result=None):
        """Poll until ``predicate(object or None)``; bounded by wait_timeout."""
        # Modules without the wait options still wait for a forced delete to finish.
        params = self.module.params
        timeout = params.get("wait_timeout") or WAIT_ARG_SPEC["wait_timeout"]["default"]
        sleep = max(1, params.get("wait_sleep") or WAIT_ARG_SPEC["wait_sleep"]["default"])
        start = time.monotonic()
        while True:
            obj = self.get(resource, definition)
            if predicate(obj):
                return obj, round(time.monotonic() - start, 1)
            remaining = timeout - (time.monotonic() - start)
            if remaining <= 0:
                failed = dict(result or {})
                if obj is not None:
                    failed["result"] = clean(obj)
                raise NetclaimError(
                    "Timed out after {0}s waiting for {1} to {2}".format(
                        timeout, describe(definition), what
                    ),
                    result=failed,
                )
            time.sleep(min(sleep, remaining))

    def present(self, definition, ready=None, force=False):
        """Create or update ``definition``; ``ready`` = (predicate, description) for wait.

        ``force`` deletes and re-creates an object whose spec is immutable (claims)."""
        resource = self.resource(definition)
        existing = self.get(resource, definition)
        method = "apply" if existing else "create"
        try:
            instance = self._apply(resource, definition)
        except ApiException as e:
            if existing is None or not _immutable_spec(e):
                raise api_error("apply", definition, e) from e
            if not force:
                raise NetclaimError(
                    "{0}: spec is immutable and differs from the requested spec; delete it "
                    "first or set force=true to delete and create it again".format(
                        describe(definition)
                    ),
                    result=api_error("apply", definition, e).result,
                ) from e
            instance, method = self._recreate(resource, definition), "replace"
        except HTTPError as e:
            raise api_error("apply", definition, e) from e

        changed = (
            existing is None
            or method == "replace"
            or bool(recursive_diff(comparable(existing), comparable(instance)))
        )
        result = {"changed": changed, "method": method, "result": clean(instance)}
        if self.module._diff:
            result["diff"] = {"before": comparable(existing), "after": comparable(instance)}
        if ready and self.module.params.get("wait") and not self.module.check_mode:
            predicate, what = ready
            obj, result["duration"] = self.wait_for(resource, definition, predicate, what, result)
            result["result"] = clean(obj)
        return result

    def _recreate(self, resource, definition):
        self._delete(resource, definition)
        if self.module.check_mode:
            # The old object is still there, so a dry-run create cannot run; predict it.
            return copy.deepcopy(definition)
        self.wait_for(resource, definition, _gone, "be deleted (is it still in use?)")
        return self._apply(resource, definition)

    def absent(self, definition):
        resource = self.resource(definition)
        existing = self.get(resource, definition)
        result = {"changed": False, "method": "delete", "result": {}}
        # An object already being deleted (finalizers, pods still using it) needs no new request.
        if existing is None or existing["metadata"].get("deletionTimestamp"):
            return result
        self._delete(resource, definition)
        result["changed"] = True
        if self.module._diff:
            result["diff"] = {"before": comparable(existing), "after": {}}
        if self.module.params.get("wait") and not self.module.check_mode:
            _obj, result["duration"] = self.wait_for(
                resource, definition, _gone, "be deleted", result
            )
        return result
