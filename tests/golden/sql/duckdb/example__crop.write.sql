SELECT
  "w"."sample_uid",
  "w"."metaxy_provenance__audio",
  "w"."metaxy_data_version__audio",
  "w"."metaxy_provenance__frames",
  "w"."metaxy_data_version__frames",
  MD5("w"."metaxy_provenance__audio" || '|' || "w"."metaxy_provenance__frames") AS "metaxy_provenance",
  CAST(NULL AS TEXT) AS "metaxy_data_version",
  '93d346ebdff2566acc7b288b15230395802fb1d42ea32ee3ef4b679322080466' AS "metaxy_feature_version",
  '1b826fca46205078540149446b2e77973e258b8b195b8321ed89446f93e1f6c3' AS "metaxy_project_version",
  CAST('2024-01-02 03:04:05.678901' AS TIMESTAMP) AS "metaxy_written_at",
  CAST(7 AS BIGINT) AS "metaxy_write_id"
FROM (
  SELECT
    "w"."sample_uid",
    "w"."metaxy_provenance__audio",
    "w"."metaxy_provenance__frames",
    CAST(NULL AS TEXT) AS "metaxy_data_version__audio",
    CAST(NULL AS TEXT) AS "metaxy_data_version__frames"
  FROM (
    SELECT
      "b"."sample_uid",
      "e"."metaxy_provenance__audio" AS "metaxy_provenance__audio",
      "e"."metaxy_provenance__frames" AS "metaxy_provenance__frames"
    FROM "metaxy_batch" AS "b"
    LEFT JOIN (
      SELECT
        "u0"."sample_uid" AS "sample_uid",
        MD5(
          '["example/crop.audio","1"]|example/video.audio=' || COALESCE("u0"."metaxy_data_version__audio", "u0"."metaxy_provenance__audio", '')
        ) AS "metaxy_provenance__audio",
        MD5(
          '["example/crop.frames","1"]|example/video.frames=' || COALESCE("u0"."metaxy_data_version__frames", "u0"."metaxy_provenance__frames", '')
        ) AS "metaxy_provenance__frames"
      FROM "example__video" AS "u0"
    ) AS "e"
      ON "b"."sample_uid" = "e"."sample_uid"
  ) AS "w"
) AS "w"
