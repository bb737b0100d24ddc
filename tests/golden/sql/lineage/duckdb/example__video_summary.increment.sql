SELECT
  COALESCE("e"."sample_uid", "e"."metaxy_stored__sample_uid") AS "sample_uid",
  CASE
    WHEN "e"."metaxy_stored__sample_uid" IS NULL
    THEN 'new'
    WHEN "e"."sample_uid" IS NULL
    THEN 'orphaned'
    ELSE 'stale'
  END AS "metaxy_status",
  "e"."metaxy_provenance__embedding" AS "metaxy_provenance__embedding",
  MD5("e"."metaxy_provenance__embedding") AS "metaxy_provenance",
  CASE
    WHEN "e"."sample_uid" IS NULL
    THEN NULL
    WHEN "e"."metaxy_stored__sample_uid" IS NULL
    THEN TRUE
    ELSE "e"."metaxy_stored__metaxy_provenance__embedding" IS NULL
    OR "e"."metaxy_provenance__embedding" <> "e"."metaxy_stored__metaxy_provenance__embedding"
  END AS "metaxy_stale__embedding"
FROM (
  SELECT
    "x"."sample_uid" AS "sample_uid",
    "s"."sample_uid" AS "metaxy_stored__sample_uid",
    "x"."metaxy_provenance__embedding" AS "metaxy_provenance__embedding",
    "s"."metaxy_provenance__embedding" AS "metaxy_stored__metaxy_provenance__embedding"
  FROM (
    SELECT
      "u0"."sample_uid" AS "sample_uid",
      MD5(
        '["example/video_summary.embedding","1"]|example/chunks.audio=' || "u0"."metaxy_data_version__audio"
      ) AS "metaxy_provenance__embedding"
    FROM (
      SELECT
        "m"."sample_uid" AS "sample_uid",
        LISTAGG(
          
            COALESCE("m"."metaxy_data_version__audio", "m"."metaxy_provenance__audio", ''),
            ','
          
          ORDER BY
            "m"."sample_uid",
            "m"."chunk_idx"
        ) AS "metaxy_data_version__audio"
      FROM "example__chunks" AS "m"
      GROUP BY
        "m"."sample_uid"
    ) AS "u0"
  ) AS "x"
  FULL JOIN "example__video_summary" AS "s"
    ON "x"."sample_uid" = "s"."sample_uid"
) AS "e"
WHERE
  "e"."metaxy_stored__sample_uid" IS NULL
  OR "e"."sample_uid" IS NULL
  OR (
    "e"."metaxy_stored__metaxy_provenance__embedding" IS NULL
    OR "e"."metaxy_provenance__embedding" <> "e"."metaxy_stored__metaxy_provenance__embedding"
  )
