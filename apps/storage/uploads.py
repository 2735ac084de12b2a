"""Browser uploads written straight to disk (never held in memory), under DATA_DIR/uploads/."""
import os
import uuid
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler


def upload_dir():
    path = Path(settings.DATA_DIR) / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


class DiskUploadedFile(UploadedFile):
    def __init__(self, path, name, content_type, size, charset, content_type_extra=None):
        super().__init__(open(path, "rb"), name, content_type, size, charset, content_type_extra)
        self.path = str(path)

    def temporary_file_path(self):
        return self.path


class DiskUploadHandler(FileUploadHandler):
    """Every chunk goes to a file as it arrives; the view renames the file for its image."""

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.path = upload_dir() / f"{uuid.uuid4().hex}.part"
        self.fh = open(self.path, "wb")

    def receive_data_chunk(self, raw_data, start):
        self.fh.write(raw_data)
        return None

    def file_complete(self, file_size):
        self.fh.close()
        return DiskUploadedFile(self.path, self.file_name, self.content_type, file_size, self.charset,
                                self.content_type_extra)

    def upload_interrupted(self):
        if getattr(self, "fh", None):
            self.fh.close()
            try:
                os.remove(self.path)
            except FileNotFoundError:
                pass
