"""The CSV files of exports in their private S3 bucket: the `ExportFiles` port.

An export's object is written with a multipart upload, a part at a time (at most one part in
memory, whatever the file's size); a file smaller than one part is one PutObject. Its key is the
same for every attempt, so a retried job replaces it rather than adding one; a failed write is
aborted, and the bucket's lifecycle rule clears parts left by a function that timed out, and every
object after a day. Downloads are presigned GETs (the function's role needs s3:GetObject only).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.adapters.aws_clients import aws_client

PART_BYTES = 8 * 1024 * 1024  # S3's minimum part is 5 MiB (the last part aside)
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"


def object_key(firm_id: str, export_id: str) -> str:
    return f"exports/{firm_id}/{export_id}.csv"


@dataclass
class S3ExportFiles:
    bucket: str
    part_bytes: int = PART_BYTES

    def writer(self, firm_id: str, export_id: str) -> MultipartWriter:
        return MultipartWriter(self.bucket, object_key(firm_id, export_id), self.part_bytes)

    def delete(self, firm_id: str, export_id: str) -> None:
        """DeleteObject: succeeds whether or not the object is there (a retried erasure)."""
        aws_client("s3").delete_object(Bucket=self.bucket, Key=object_key(firm_id, export_id))

    def download_url(self, firm_id: str, export_id: str, *, file_name: str, expires_seconds: int) -> str:
        return str(
            aws_client("s3").generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": self.bucket,
                    "Key": object_key(firm_id, export_id),
                    "ResponseContentDisposition": f'attachment; filename="{file_name}"',
                    "ResponseContentType": CSV_CONTENT_TYPE,
                },
                ExpiresIn=expires_seconds,
            )
        )


@dataclass
class MultipartWriter:
    bucket: str
    key: str
    part_bytes: int
    _buffer: bytearray = field(default_factory=bytearray)
    _parts: list[dict[str, Any]] = field(default_factory=list)
    _upload_id: str | None = None

    def write(self, chunk: bytes) -> None:
        self._buffer += chunk
        while len(self._buffer) >= self.part_bytes:
            self._upload_part(bytes(self._buffer[: self.part_bytes]))
            del self._buffer[: self.part_bytes]

    def complete(self) -> None:
        s3 = aws_client("s3")
        if self._upload_id is None:  # smaller than a part: one request
            s3.put_object(
                Bucket=self.bucket, Key=self.key, Body=bytes(self._buffer), ContentType=CSV_CONTENT_TYPE
            )
            return
        if self._buffer:
            self._upload_part(bytes(self._buffer))
            self._buffer.clear()
        s3.complete_multipart_upload(
            Bucket=self.bucket,
            Key=self.key,
            UploadId=self._upload_id,
            MultipartUpload={"Parts": self._parts},
        )

    def abort(self) -> None:
        if self._upload_id is not None:
            aws_client("s3").abort_multipart_upload(
                Bucket=self.bucket, Key=self.key, UploadId=self._upload_id
            )
            self._upload_id = None

    def _upload_part(self, body: bytes) -> None:
        s3 = aws_client("s3")
        if self._upload_id is None:
            self._upload_id = s3.create_multipart_upload(
                Bucket=self.bucket, Key=self.key, ContentType=CSV_CONTENT_TYPE
            )["UploadId"]
        number = len(self._parts) + 1
        answer = s3.upload_part(
            Bucket=self.bucket, Key=self.key, UploadId=self._upload_id, PartNumber=number, Body=body
        )
        self._parts.append({"PartNumber": number, "ETag": answer["ETag"]})
