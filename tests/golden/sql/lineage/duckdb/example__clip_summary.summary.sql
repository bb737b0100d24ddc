SELECT
  COALESCE(SUM(CASE WHEN "g"."new" THEN "g"."n" ELSE 0 END), 0) AS "new",
  COALESCE(
    SUM(
      CASE
        WHEN "g"."new" OR "g"."orphaned" OR FALSE
        THEN 0
        WHEN "g"."differs_0"
        THEN "g"."n"
        ELSE 0
      END
    ),
    0
  ) AS "stale",
  COALESCE(SUM(CASE WHEN "g"."orphaned" THEN "g"."n" ELSE 0 END), 0) AS "orphaned",
  COALESCE(
    SUM(
      CASE
        WHEN "g"."new" OR "g"."orphaned"
        THEN 0
        WHEN FALSE OR NOT "g"."differs_0"
        THEN "g"."n"
        ELSE 0
      END
    ),
    0
  ) AS "up_to_date",
  COALESCE(
    SUM(
      CASE
        WHEN "g"."new" OR "g"."orphaned" OR FALSE
        THEN 0
        WHEN "g"."differs_0"
        THEN "g"."n"
        ELSE 0
      END
    ),
    0
  ) AS "metaxy_stale__summary"
FROM (
  SELECT
    "e"."metaxy_stored__sample_uid" IS NULL AS "new",
    "e"."sample_uid" IS NULL AS "orphaned",
    "e"."metaxy_stored__metaxy_provenance__summary" IS NULL
    OR "e"."metaxy_provenance__summary" <> "e"."metaxy_stored__metaxy_provenance__summary" AS "differs_0",
    COUNT(*) AS "n"
  FROM (
    SELECT
      "x"."sample_uid" AS "sample_uid",
      "s"."sample_uid" AS "metaxy_stored__sample_uid",
      "x"."metaxy_provenance__summary" AS "metaxy_provenance__summary",
      "s"."metaxy_provenance__summary" AS "metaxy_stored__metaxy_provenance__summary"
    FROM (
      SELECT
        "u0"."sample_uid" AS "sample_uid",
        MD5(
          '["example/clip_summary.summary","1"]|example/clip_embedding.embedding=' || "u0"."metaxy_data_version__embedding" || '|example/video.audio=' || COALESCE("u1"."metaxy_data_version__audio", "u1"."metaxy_provenance__audio", '')
        ) AS "metaxy_provenance__summary"
      FROM (
        SELECT
          "m"."sample_uid" AS "sample_uid",
          LISTAGG(
            
              COALESCE("m"."metaxy_data_version__embedding", "m"."metaxy_provenance__embedding", ''),
              ','
            
            ORDER BY
              "m"."sample_uid",
              "m"."clip_idx"
          ) AS "metaxy_data_version__embedding"
        FROM "example__clip_embedding" AS "m"
        GROUP BY
          "m"."sample_uid"
      ) AS "u0"
      JOIN "example__video" AS "u1"
        ON "u0"."sample_uid" = "u1"."sample_uid"
    ) AS "x"
    FULL JOIN "example__clip_summary" AS "s"
      ON "x"."sample_uid" = "s"."sample_uid"
  ) AS "e"
  GROUP BY
    "e"."metaxy_stored__sample_uid" IS NULL,
    "e"."sample_uid" IS NULL,
    "e"."metaxy_stored__metaxy_provenance__summary" IS NULL
    OR "e"."metaxy_provenance__summary" <> "e"."metaxy_stored__metaxy_provenance__summary"
) AS "g"
