SELECT
  "w"."sample_uid",
  "w"."metaxy_provenance__transcription",
  "w"."metaxy_data_version__transcription",
  MD5("w"."metaxy_provenance__transcription") AS "metaxy_provenance",
  CAST(NULL AS TEXT) AS "metaxy_data_version",
  'fa2dd30a890636d2d90126cf702b2286e63c646b01ca7837dbc5a649d23fc833' AS "metaxy_feature_version",
  '1b826fca46205078540149446b2e77973e258b8b195b8321ed89446f93e1f6c3' AS "metaxy_project_version",
  CAST('2024-01-02 03:04:05.678901' AS TEXT) AS "metaxy_written_at",
  CAST(7 AS INTEGER) AS "metaxy_write_id"
FROM (
  SELECT
    "w"."sample_uid",
    "w"."metaxy_provenance__transcription",
    CAST(NULL AS TEXT) AS "metaxy_data_version__transcription"
  FROM (
    SELECT
      "b"."sample_uid",
      "e"."metaxy_provenance__transcription" AS "metaxy_provenance__transcription"
    FROM "metaxy_batch" AS "b"
    LEFT JOIN (
      SELECT
        "u0"."sample_uid" AS "sample_uid",
        MD5(
          '["example/stt.transcription","1"]|example/video.audio=' || COALESCE("u0"."metaxy_data_version__audio", "u0"."metaxy_provenance__audio", '')
        ) AS "metaxy_provenance__transcription"
      FROM "example__video" AS "u0"
    ) AS "e"
      ON "b"."sample_uid" = "e"."sample_uid"
  ) AS "w"
) AS "w"
