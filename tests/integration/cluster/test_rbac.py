"""RBAC is enforced for real: a ServiceAccount gets exactly what its RoleBindings grant."""

import pytest
from kubernetes.client import ApiException, CoreV1Api, RbacAuthorizationV1Api, V1PodList

from sextant.devenv.cluster import KubeAccess
from tests.polling import wait_for


def test_serviceaccount_without_a_rolebinding_is_forbidden(
    kube: KubeAccess, kube_namespace: str
) -> None:
    as_reader = CoreV1Api(kube.api_client(kube.serviceaccount_kubeconfig(kube_namespace, "reader")))

    with pytest.raises(ApiException) as forbidden:
        as_reader.list_namespaced_pod(kube_namespace)

    assert forbidden.value.status == 403
    assert f"system:serviceaccount:{kube_namespace}:reader" in forbidden.value.body


def test_serviceaccount_with_a_rolebinding_can_list_pods_in_that_namespace_only(
    kube: KubeAccess, kube_namespace: str
) -> None:
    as_reader = CoreV1Api(kube.api_client(kube.serviceaccount_kubeconfig(kube_namespace, "reader")))
    rbac = RbacAuthorizationV1Api(kube.api_client())
    rbac.create_namespaced_role(
        kube_namespace,
        {
            "metadata": {"name": "pod-reader"},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}],
        },
    )
    rbac.create_namespaced_role_binding(
        kube_namespace,
        {
            "metadata": {"name": "reader-reads-pods"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": "pod-reader",
            },
            "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": kube_namespace}],
        },
    )

    def listed() -> V1PodList | None:
        # The authorizer sees new bindings through an informer: allow it a moment.
        try:
            return as_reader.list_namespaced_pod(kube_namespace)
        except ApiException as err:
            if err.status != 403:
                raise
            return None

    pod_list = wait_for(listed, timeout=20, what="the RoleBinding to take effect")
    assert pod_list.items == []
    with pytest.raises(ApiException) as elsewhere:
        as_reader.list_namespaced_pod("default")
    assert elsewhere.value.status == 403
