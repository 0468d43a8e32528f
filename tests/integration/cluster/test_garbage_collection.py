"""The controller-manager runs for real: owners' deletions cascade to what they own."""

from kubernetes.client import AppsV1Api, CoreV1Api

from sextant.devenv.cluster import KubeAccess
from tests.integration.cluster.workloads import deployment, pods, ready_pods
from tests.polling import wait_for


def test_deleting_a_deployment_garbage_collects_its_replicasets_and_pods(
    kube: KubeAccess, kube_namespace: str
) -> None:
    api = kube.api_client()
    apps, core = AppsV1Api(api), CoreV1Api(api)
    apps.create_namespaced_deployment(kube_namespace, deployment("doomed", replicas=3))
    wait_for(
        lambda: ready_pods(core, kube_namespace, "doomed", 3),
        timeout=60,
        what="three Ready pods",
    )
    (replicaset,) = apps.list_namespaced_replica_set(
        kube_namespace, label_selector="app=doomed"
    ).items
    assert replicaset.metadata.owner_references[0].kind == "Deployment"

    apps.delete_namespaced_deployment("doomed", kube_namespace, propagation_policy="Background")

    wait_for(
        lambda: (
            not apps.list_namespaced_replica_set(kube_namespace).items
            and not pods(core, kube_namespace, "doomed")
        ),
        timeout=60,
        what="the garbage collector to remove the ReplicaSet and its pods",
    )
