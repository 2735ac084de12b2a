from rest_framework.routers import SimpleRouter

from .views import AccessKeyViewSet, DataCenterViewSet, EcsInstanceViewSet, IdentityZoneViewSet

router = SimpleRouter()
router.register("alibaba-access-keys", AccessKeyViewSet, basename="alibaba-access-keys")
router.register("alibaba-data-centers", DataCenterViewSet, basename="alibaba-data-centers")
router.register("alibaba-identity-zones", IdentityZoneViewSet, basename="alibaba-identity-zones")
router.register("ecs-instances", EcsInstanceViewSet, basename="ecs-instances")
urlpatterns = router.urls

from .storage_views import EcsDiskViewSet, EcsImageViewSet, OssBucketViewSet  # noqa: E402

router.register("oss-buckets", OssBucketViewSet, basename="oss-buckets")
router.register("ecs-images", EcsImageViewSet, basename="ecs-images")
router.register("ecs-disks", EcsDiskViewSet, basename="ecs-disks")

# Express Connect and VPN (H8, H9)
from .links_views import (CustomerGatewayViewSet, RouterInterfaceViewSet, VirtualBorderRouterViewSet,  # noqa: E402
                          VpnConnectionViewSet, VpnGatewayViewSet)

router.register("virtual-border-routers", VirtualBorderRouterViewSet, basename="virtual-border-routers")
router.register("router-interfaces", RouterInterfaceViewSet, basename="router-interfaces")
router.register("vpn-gateways", VpnGatewayViewSet, basename="vpn-gateways")
router.register("customer-gateways", CustomerGatewayViewSet, basename="customer-gateways")
router.register("vpn-connections", VpnConnectionViewSet, basename="vpn-connections")

from .network_views import (EipViewSet, RouteEntryViewSet, SecurityGroupViewSet, VpcViewSet,  # noqa: E402
                            VRouterViewSet, VSwitchViewSet)

router.register("alibaba-vpcs", VpcViewSet, basename="alibaba-vpcs")
router.register("alibaba-v-switches", VSwitchViewSet, basename="alibaba-v-switches")
router.register("alibaba-v-routers", VRouterViewSet, basename="alibaba-v-routers")
router.register("alibaba-route-entries", RouteEntryViewSet, basename="alibaba-route-entries")
router.register("alibaba-security-groups", SecurityGroupViewSet, basename="alibaba-security-groups")
router.register("alibaba-eips", EipViewSet, basename="alibaba-eips")

from .oneview_views import EcsImageMappingViewSet, EcsNetworkMappingViewSet, EcsOfferingMappingViewSet  # noqa: E402

router.register("ecs-image-mappings", EcsImageMappingViewSet, basename="ecs-image-mappings")
router.register("ecs-offering-mappings", EcsOfferingMappingViewSet, basename="ecs-offering-mappings")
router.register("ecs-network-mappings", EcsNetworkMappingViewSet, basename="ecs-network-mappings")
urlpatterns = router.urls
