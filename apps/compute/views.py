from apps.core.api.viewsets import ResourceViewSet
from apps.core.states import ENABLE_STATE_MACHINE

from .models import Cluster, Zone
from .serializers import ClusterSerializer, ZoneSerializer


class ZoneViewSet(ResourceViewSet):
    queryset = Zone.objects.all()
    serializer_class = ZoneSerializer
    state_machine = ENABLE_STATE_MACHINE
    state_actions = {"enable": "enable", "disable": "disable"}


class ClusterViewSet(ResourceViewSet):
    queryset = Cluster.objects.select_related("zone")
    serializer_class = ClusterSerializer
    state_machine = ENABLE_STATE_MACHINE
    state_actions = {"enable": "enable", "disable": "disable"}
