SELECT
  "w"."sample_uid",
  "w"."metaxy_provenance__embedding",
  "w"."metaxy_data_version__embedding",
  MD5("w"."metaxy_provenance__embedding") AS "metaxy_provenance",
  CAST(NULL AS TEXT) AS "metaxy_data_version",
  '8800d6d37da39f0ccd32b37ac0e5f9389cda53b7194bdaa02c3d1ad4f55c4baa' AS "metaxy_feature_version",
  '5707a5d141d1234344c1effc0117b8511a8a68fe33a6c1a58461cb99a3190d8d' AS "metaxy_project_version",
  CAST('2024-01-02 03:04:05.678901' AS TEXT) AS "metaxy_written_at",
  CAST(7 AS INTEGER) AS "metaxy_write_id"
FROM (
  SELECT
    "w"."sample_uid",
    "w"."metaxy_provenance__embedding",
    CAST(NULL AS TEXT) AS "metaxy_data_version__embedding"
  FROM (
    SELECT
      "b"."sample_uid",
      "e"."metaxy_provenance__embedding" AS "metaxy_provenance__embedding"
    FROM "metaxy_batch" AS "b"
    LEFT JOIN (
      SELECT
        "u0"."sample_uid" AS "sample_uid",
        MD5(
          '["example/video_summary.embedding","1"]|example/chunks.audio=' || "u0"."metaxy_data_version__audio"
        ) AS "metaxy_provenance__embedding"
      FROM (
        SELECT
          "m"."sample_uid" AS "sample_uid",
          METAXY_ORDERED_CONCAT(
            COALESCE("m"."metaxy_data_version__audio", "m"."metaxy_provenance__audio", ''),
            "m"."sample_uid",
            "m"."chunk_idx"
          ) AS "metaxy_data_version__audio"
        FROM "example__chunks" AS "m"
        GROUP BY
          "m"."sample_uid"
      ) AS "u0"
    ) AS "e"
      ON "b"."sample_uid" = "e"."sample_uid"
  ) AS "w"
) AS "w"
