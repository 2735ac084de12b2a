"""Generated API tests (in the spirit of NetBox's APIViewTestCases).

A resource's API test is a few declarations::

    class ZoneAPITest(APIViewTestCases.APIViewTestCase):
        url = "/api/v1/zones/"
        model = Zone
        create_data = [{"name": "z-new"}, {"name": "z-new2", "description": "d"}]
        update_data = {"description": "changed"}

        def make_object(self, index, owner):
            return Zone.objects.create(name=f"zone-{index}")

and inherits tests of CRUD, the query DSL, ``fields=``, CSV, the error shape,
tenant isolation (another account's row is 404, or infrastructure is read-only
for normal accounts: 403), the serializer's admin-only fields (absent for a normal
account in details, lists, CSV, ``fields=``, ``q=`` and ``ordering=``, present for
an admin), authentication, and that every write left an audit log and a change log.
"""
import csv
import io

from django.test import TestCase
from django.urls import resolve
from rest_framework.test import APIClient

from apps.core.api.serializers import admin_only_fields
from apps.core.models import AuditLog, ChangeLog


def make_account(name, *, admin=False, password="pass-word-1"):
    """An account and its first user of the same name."""
    from apps.accounts.models import Account, AccountType, User

    account = Account.objects.create(name=name, type=AccountType.SYSTEM_ADMIN if admin else AccountType.NORMAL)
    user = User(username=name, account=account)
    user.set_password(password)
    user.save()
    return user


def client_for(user):
    """An API client authenticated with a fresh token of ``user``."""
    from apps.accounts.models import ApiToken

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {ApiToken.issue(user)}")
    return client


class APIViewTestCases:
    class Base(TestCase):
        url = None
        model = None
        create_data = []
        update_data = {}
        tenant_scoped = False  # True: rows belong to accounts; False: infrastructure (admin writes)
        delete_via_job = True
        queryable_field = "name"

        def setUp(self):
            self.admin = make_account("t-admin", admin=True)
            self.tenant = make_account("t-tenant")
            self.other = make_account("t-other")
            self.admin_client = client_for(self.admin)
            self.tenant_client = client_for(self.tenant)
            self.other_client = client_for(self.other)
            owner = self.tenant if self.tenant_scoped else self.admin
            self.objects = [self.make_object(i, owner) for i in range(3)]

        # to declare --------------------------------------------------------------
        def make_object(self, index, owner):
            raise NotImplementedError

        # helpers --------------------------------------------------------------------
        def detail(self, obj):
            return f"{self.url}{obj.uuid}/"

        @property
        def writer(self):
            """The client that may write these rows: the owner, or an admin for infrastructure."""
            return self.tenant_client if self.tenant_scoped else self.admin_client

        def assertError(self, response, status, code=None):
            self.assertEqual(response.status_code, status, response.content)
            body = response.json()
            self.assertEqual(set(body), {"code", "message", "details"}, body)
            self.assertTrue(body["message"])
            if code:
                self.assertEqual(body["code"], code, body)
            return body

        @property
        def admin_only(self):
            """The fields this resource's serializer shows to admin accounts only (sorted)."""
            view = resolve(self.url).func
            serializer_class = view.cls.serializer_class
            return sorted(admin_only_fields(serializer_class))

        def assertShownToAdminsOnly(self, normal_row, admin_row):
            for name in self.admin_only:
                self.assertNotIn(name, normal_row, f"admin-only field '{name}' shown to a normal account")
                self.assertIn(name, admin_row, f"admin-only field '{name}' not shown to an admin")

        def assertAudited(self, method, status, uuid=None):
            log = AuditLog.objects.filter(method=method).order_by("-id").first()
            self.assertIsNotNone(log, f"no audit log for {method}")
            self.assertEqual(log.status_code, status)
            self.assertTrue(log.request_id)
            self.assertIsNotNone(log.duration_ms)
            self.assertEqual(log.client_ip, "127.0.0.1")
            if uuid is not None:
                self.assertEqual(str(log.resource_uuid), str(uuid))
            return log

    class GetObject(Base):
        def test_get_object(self):
            response = self.writer.get(self.detail(self.objects[0]))
            self.assertEqual(response.status_code, 200, response.content)
            self.assertEqual(response.json()["uuid"], str(self.objects[0].uuid))

        def test_get_missing_object_is_404_in_the_error_shape(self):
            self.assertError(self.admin_client.get(f"{self.url}00000000-0000-4000-8000-000000000000/"), 404,
                             "NOT_FOUND")

        def test_unauthenticated_is_401(self):
            self.assertError(APIClient().get(self.detail(self.objects[0])), 401, "UNAUTHENTICATED")

        def test_bad_token_is_401(self):
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION="Token nope")
            self.assertError(client.get(self.url), 401, "AUTHENTICATION_FAILED")

        def test_tenant_isolation_on_detail(self):
            response = self.other_client.get(self.detail(self.objects[0]))
            if self.tenant_scoped:
                self.assertError(response, 404, "NOT_FOUND")
            else:
                self.assertEqual(response.status_code, 200)  # infrastructure is readable by all

        def test_fields_selects_keys(self):
            response = self.writer.get(self.detail(self.objects[0]) + "?fields=uuid,name")
            self.assertEqual(set(response.json()), {"uuid", "name"})

        def test_admin_only_fields_are_shown_to_admins_only(self):
            url = self.detail(self.objects[0])
            normal, admin = self.tenant_client.get(url), self.admin_client.get(url)
            self.assertEqual((normal.status_code, admin.status_code), (200, 200), normal.content)
            self.assertShownToAdminsOnly(normal.json(), admin.json())
            for name in self.admin_only:  # asking for one by name does not show it either
                body = self.assertError(self.tenant_client.get(f"{url}?fields=uuid,{name}"), 400,
                                        "INVALID_QUERY_FIELD")
                self.assertIn(name, body["message"])
                self.assertEqual(set(self.admin_client.get(f"{url}?fields=uuid,{name}").json()), {"uuid", name})

    class ListObjects(Base):
        def list_uuids(self, client, query="", params=None):
            response = client.get(self.url + query, params or {})
            self.assertEqual(response.status_code, 200, response.content)
            return {row["uuid"] for row in response.json()["results"]}, response.json()

        def test_list_objects_with_count(self):
            uuids, body = self.list_uuids(self.writer)
            self.assertTrue({str(o.uuid) for o in self.objects} <= uuids)
            self.assertEqual(body["count"], len(body["results"]))
            self.assertEqual(set(body), {"count", "next", "previous", "results"})

        def test_list_query_dsl(self):
            target = self.objects[1]
            value = getattr(target, self.queryable_field)
            uuids, body = self.list_uuids(self.admin_client, params={"q": f"{self.queryable_field}={value}"})
            self.assertEqual(uuids, {str(target.uuid)})
            self.assertEqual(body["count"], 1)
            uuids, _ = self.list_uuids(self.admin_client, params={"q": f"uuid?={self.objects[0].uuid},{target.uuid}"})
            self.assertEqual(uuids, {str(self.objects[0].uuid), str(target.uuid)})

        def test_list_unknown_field_is_400_naming_it(self):
            body = self.assertError(self.admin_client.get(self.url + "?q=no_such_field=1"), 400)
            self.assertIn("no_such_field", body["message"])

        def test_list_paging(self):
            _, first = self.list_uuids(self.admin_client, "?limit=1&ordering=created_at")
            _, second = self.list_uuids(self.admin_client, "?limit=1&offset=1&ordering=created_at")
            self.assertEqual(len(first["results"]), 1)
            self.assertNotEqual(first["results"][0]["uuid"], second["results"][0]["uuid"])
            self.assertIsNotNone(first["next"])

        def test_list_as_csv(self):
            response = self.admin_client.get(self.url + "?format=csv&fields=uuid,name")
            self.assertEqual(response.status_code, 200)
            self.assertTrue(response["Content-Type"].startswith("text/csv"))
            rows = list(csv.DictReader(io.StringIO(response.content.decode())))
            json_rows = self.admin_client.get(self.url + "?fields=uuid,name").json()["results"]
            self.assertEqual(rows, [{k: str(v) for k, v in row.items()} for row in json_rows])

        def test_admin_only_fields_stay_hidden_in_lists_csv_and_queries(self):
            normal = self.list_uuids(self.tenant_client)[1]["results"]
            admin = {row["uuid"]: row for row in self.list_uuids(self.admin_client)[1]["results"]}
            self.assertTrue(normal)
            for row in normal:
                self.assertShownToAdminsOnly(row, admin[row["uuid"]])
            header = self.tenant_client.get(self.url + "?format=csv").content.decode().splitlines()[0].split(",")
            admin_header = self.admin_client.get(self.url + "?format=csv").content.decode().splitlines()[0].split(",")
            self.assertShownToAdminsOnly(header, admin_header)
            queryable = getattr(getattr(self.model, "Query", None), "fields", [])
            for name in self.admin_only:
                if name not in queryable:
                    continue
                for params in ({"q": f"{name}!=null"}, {"ordering": name}):  # no guessing its value either
                    body = self.assertError(self.tenant_client.get(self.url, params), 400, "INVALID_QUERY_FIELD")
                    self.assertIn(name, body["message"])
                    self.assertEqual(self.admin_client.get(self.url, params).status_code, 200)

        def test_tenant_isolation_in_list(self):
            uuids, _ = self.list_uuids(self.other_client)
            mine = {str(o.uuid) for o in self.objects}
            if self.tenant_scoped:
                self.assertFalse(mine & uuids)
            else:
                self.assertTrue(mine <= uuids)

    class CreateObject(Base):
        def test_create_object_is_audited_with_a_change_log(self):
            for data in self.create_data:
                response = self.writer.post(self.url, data, format="json")
                self.assertEqual(response.status_code, 201, response.content)
                created = self.model.objects.get(uuid=response.json()["uuid"])
                log = self.assertAudited("POST", 201, created.uuid)
                change = ChangeLog.objects.get(resource_uuid=created.uuid, action="create")
                self.assertEqual(change.request_id, log.request_id)
                self.assertEqual(response["X-Request-Id"], log.request_id)

        def test_create_with_bad_input_is_400_with_field_details(self):
            body = self.assertError(self.writer.post(self.url, {"name": ""}, format="json"), 400, "INVALID_ARGUMENT")
            self.assertIn("name", body["details"])
            self.assertError(self.writer.post(self.url, "not json{", content_type="application/json"), 400,
                             "MALFORMED_REQUEST")

        def test_create_permission_denied_for_normal_accounts_on_infrastructure(self):
            if self.tenant_scoped:
                return
            response = self.tenant_client.post(self.url, self.create_data[0], format="json")
            self.assertError(response, 403, "PERMISSION_DENIED")
            self.assertAudited("POST", 403)

    class UpdateObject(Base):
        def test_update_object_keeps_a_before_after_diff(self):
            obj = self.objects[0]
            response = self.writer.patch(self.detail(obj), self.update_data, format="json")
            self.assertEqual(response.status_code, 200, response.content)
            change = ChangeLog.objects.filter(resource_uuid=obj.uuid, action="update").latest("id")
            for key, value in self.update_data.items():
                self.assertEqual(change.after[key], value)
                self.assertEqual(change.before[key], getattr(obj, key))
            self.assertAudited("PATCH", 200, obj.uuid)

        def test_update_denied_to_other_accounts(self):
            response = self.other_client.patch(self.detail(self.objects[0]), self.update_data, format="json")
            self.assertError(response, 404 if self.tenant_scoped else 403)

    class DeleteObject(Base):
        def test_delete_object(self):
            obj = self.objects[2]
            if self.delete_via_job:
                dry = self.admin_client.delete(self.detail(obj) + "?dry_run=true")
                self.assertEqual(dry.status_code, 200, dry.content)
                self.assertIn(str(obj.uuid), [d["uuid"] for d in dry.json()["deletes"]])
                self.assertTrue(self.model.objects.filter(pk=obj.pk).exists())
            with self.captureOnCommitCallbacks(execute=True):
                response = self.admin_client.delete(self.detail(obj))
            if self.delete_via_job:
                self.assertEqual(response.status_code, 202, response.content)
                job = self.admin_client.get(response["Location"]).json()
                self.assertEqual(job["state"], "succeeded", job)
            else:
                self.assertEqual(response.status_code, 204, response.content)
            self.assertFalse(self.model.objects.filter(pk=obj.pk).exists())
            self.assertEqual(ChangeLog.objects.filter(resource_uuid=obj.uuid, action="delete").count(), 1)
            self.assertAudited("DELETE", response.status_code, obj.uuid)

        def test_delete_denied_to_other_accounts(self):
            response = self.other_client.delete(self.detail(self.objects[0]))
            self.assertError(response, 404 if self.tenant_scoped else 403)
            self.assertTrue(self.model.objects.filter(pk=self.objects[0].pk).exists())

    class APIViewTestCase(GetObject, ListObjects, CreateObject, UpdateObject, DeleteObject):
        pass


def fail_after_its_work(patch, step, no_retry=False):
    """Make the flow step class ``step`` do its work and then fail (``RuntimeError("injected")``),
    through ``patch`` (a pytest ``monkeypatch`` or its ``context()``): what a failure-injection test
    needs to see the rollback of everything up to and including that step. ``no_retry``: the step
    is not run again before failing."""
    run = step.run

    def after_its_work(self, ctx):
        run(self, ctx)
        raise RuntimeError("injected")

    patch.setattr(step, "run", after_its_work)
    if no_retry:
        patch.setattr(step, "retries", 0)
