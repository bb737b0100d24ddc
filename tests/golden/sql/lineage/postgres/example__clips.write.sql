SELECT
  "w"."sample_uid",
  "w"."clip_idx",
  "w"."start_s",
  "w"."end_s",
  "w"."metaxy_provenance__audio",
  "w"."metaxy_data_version__audio",
  "w"."metaxy_provenance__frames",
  "w"."metaxy_data_version__frames",
  MD5("w"."metaxy_provenance__audio" || '|' || "w"."metaxy_provenance__frames") AS "metaxy_provenance",
  CAST(NULL AS TEXT) AS "metaxy_data_version",
  'b456d65ae3bb386645840c98444868c4e6fcf4b24459ba45ffe344ad2fd681f3' AS "metaxy_feature_version",
  '5707a5d141d1234344c1effc0117b8511a8a68fe33a6c1a58461cb99a3190d8d' AS "metaxy_project_version",
  CAST('2024-01-02 03:04:05.678901' AS TIMESTAMP) AS "metaxy_written_at",
  CAST(7 AS BIGINT) AS "metaxy_write_id"
FROM (
  SELECT
    "w"."sample_uid",
    "w"."clip_idx",
    "w"."start_s",
    "w"."end_s",
    "w"."metaxy_provenance__audio",
    "w"."metaxy_provenance__frames",
    CAST(NULL AS TEXT) AS "metaxy_data_version__audio",
    CAST(NULL AS TEXT) AS "metaxy_data_version__frames"
  FROM (
    SELECT
      "b"."sample_uid",
      "b"."clip_idx",
      "b"."start_s",
      "b"."end_s",
      "e"."metaxy_provenance__audio" AS "metaxy_provenance__audio",
      "e"."metaxy_provenance__frames" AS "metaxy_provenance__frames"
    FROM "metaxy_batch" AS "b"
    LEFT JOIN (
      SELECT
        "u0"."sample_uid" AS "sample_uid",
        MD5(
          '["example/clips.audio","1"]|example/video.audio=' || COALESCE("u0"."metaxy_data_version__audio", "u0"."metaxy_provenance__audio", '')
        ) AS "metaxy_provenance__audio",
        MD5(
          '["example/clips.frames","1"]|example/video.frames=' || COALESCE("u0"."metaxy_data_version__frames", "u0"."metaxy_provenance__frames", '')
        ) AS "metaxy_provenance__frames"
      FROM "example__video" AS "u0"
    ) AS "e"
      ON "b"."sample_uid" = "e"."sample_uid"
  ) AS "w"
) AS "w"
