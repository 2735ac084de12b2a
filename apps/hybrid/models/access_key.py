"""An account's Alibaba Cloud AccessKeys (H1). The secret is encrypted at rest and never shown."""
from django.db import models, transaction

from apps.core.models import Resource
from apps.core.secrets import EncryptedTextField


class AlibabaAccessKey(Resource):
    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="alibaba_access_keys")
    access_key_id = models.CharField(max_length=128)
    access_key_secret = EncryptedTextField()
    # one default per account (``make_default``): what a data centre added without a key uses
    is_default = models.BooleanField(default=False)

    tenant_path = "account"
    admin_only_writes = False

    class Meta(Resource.Meta):
        constraints = [models.UniqueConstraint(fields=["account", "access_key_id"], name="alibaba_key_once")]

    class Query:
        fields = ["uuid", "name", "description", "access_key_id", "is_default", "account_uuid", "created_at",
                  "updated_at"]
        aliases = {"account_uuid": "account__uuid"}
        relations = ["account", "data_centers"]

    def make_default(self):
        """This key becomes its account's default, the others stop being it (under a lock on the
        account's keys, so that two requests at once still leave one default)."""
        with transaction.atomic():
            keys = list(AlibabaAccessKey.objects.select_for_update().filter(account_id=self.account_id))
            for key in keys:
                wanted = key.pk == self.pk
                if key.is_default != wanted:
                    key.is_default = wanted
                    key.save(update_fields=["is_default", "updated_at"])
        self.is_default = True
