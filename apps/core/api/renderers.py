"""``?format=csv``: the same rows a list answers, as CSV (nested values as JSON)."""
import csv
import io
import json

from rest_framework.renderers import BaseRenderer

from .serializers import admin_only_fields, for_admin


class CSVRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        if isinstance(data, dict) and "results" in data:
            rows = data["results"]
        elif isinstance(data, list):
            rows = data
        else:
            rows = [data]
        header = []
        for row in rows:
            for key in row:
                if key not in header:
                    header.append(key)
        if not header:
            header = self._declared_columns(renderer_context or {})
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(header)
        for row in rows:
            writer.writerow([self._cell(row.get(key)) for key in header])
        response = (renderer_context or {}).get("response")
        view = (renderer_context or {}).get("view")
        if response is not None and response.status_code < 400:
            name = getattr(view, "basename", None) or "export"
            response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return out.getvalue().encode(self.charset)

    @staticmethod
    def _declared_columns(context):
        """Columns of an empty list: the serializer's fields (narrowed by ``fields=``)."""
        view = context.get("view")
        if view is None or not hasattr(view, "get_serializer_class"):
            return []
        try:
            serializer_class = view.get_serializer_class()
            columns = list(serializer_class().fields)
        except Exception:  # noqa: BLE001 - a header is a nicety, never an error
            return []
        request = context.get("request")
        if not for_admin({"request": request}):
            hidden = admin_only_fields(serializer_class)
            columns = [c for c in columns if c not in hidden]
        wanted = request.query_params.get("fields") if request is not None else None
        if wanted:
            chosen = [f.strip() for f in wanted.split(",") if f.strip()]
            columns = [c for c in columns if c in chosen]
        return columns

    @staticmethod
    def _cell(value):
        if value is None:
            return ""
        if isinstance(value, (dict, list)):
            return json.dumps(value, sort_keys=True)
        return str(value)
