"""``POST /api/v1/volumes/<uuid>/create-image/``: the request body and the answer (202 + job,
the image as the resource). The snapshot endpoint of issue 19 calls ``start_image_from_file``
with the snapshot's file the same way."""
from rest_framework import serializers

from apps.core.api.flowstarts import accepted, audit
from apps.core.tenancy import is_admin

from .flows.volume_image import start_image_from_snapshot, start_image_from_volume
from .models import BackupStorage, ImagePlatform
from .serializers import ImageSerializer


class CreateImageSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=255)
    description = serializers.CharField(max_length=2048, required=False, allow_blank=True, default="")
    backup_storage_uuids = serializers.ListField(
        child=serializers.UUIDField(), required=False, allow_empty=True,
        help_text="where to store it; default: the Enabled, Connected backup storages of the volume's zone")
    platform = serializers.ChoiceField(choices=ImagePlatform.choices, required=False,
                                       help_text="default: the platform of the volume's image")
    public = serializers.BooleanField(required=False, default=False)

    def validate_backup_storage_uuids(self, value):
        found = set(str(u) for u in BackupStorage.objects.filter(uuid__in=value).values_list("uuid", flat=True))
        missing = [str(u) for u in value if str(u) not in found]
        if missing:
            raise serializers.ValidationError(f"no backup storage {', '.join(missing)}")
        return value

    def validate_public(self, value):
        request = self.context.get("request")
        if value and not (request and is_admin(request.user)):
            raise serializers.ValidationError("only an admin account may make an image public")
        return value


def create_image(view, request, source, start):
    """Validate the body, start the flow on a new image made from ``source``: 202."""
    body = CreateImageSerializer(data=request.data, context=view.get_serializer_context())
    body.is_valid(raise_exception=True)
    image, job = start(request.user, source, body.validated_data)
    audit(request, action="images.create-from-volume", resource_type="Image", resource_uuid=image.uuid,
          job_uuid=job.uuid)
    return accepted(job, ImageSerializer(image, context=view.get_serializer_context()).data)


def create_image_from_volume(view, request):
    return create_image(view, request, view.get_object(), start_image_from_volume)


def create_image_from_snapshot(view, request):
    return create_image(view, request, view.get_object(), start_image_from_snapshot)
