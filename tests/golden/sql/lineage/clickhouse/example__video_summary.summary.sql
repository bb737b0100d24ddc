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
  ) AS "metaxy_stale__embedding"
FROM (
  SELECT
    "e"."metaxy_stored__sample_uid" IS NULL AS "new",
    "e"."sample_uid" IS NULL AS "orphaned",
    "e"."metaxy_stored__metaxy_provenance__embedding" IS NULL
    OR "e"."metaxy_provenance__embedding" <> "e"."metaxy_stored__metaxy_provenance__embedding" AS "differs_0",
    COUNT(*) AS "n"
  FROM (
    SELECT
      "x"."sample_uid" AS "sample_uid",
      "s"."sample_uid" AS "metaxy_stored__sample_uid",
      "x"."metaxy_provenance__embedding" AS "metaxy_provenance__embedding",
      "s"."metaxy_provenance__embedding" AS "metaxy_stored__metaxy_provenance__embedding"
    FROM (
      SELECT
        "u0"."sample_uid" AS "sample_uid",
        LOWER(
          HEX(
            MD5(
              '["example/video_summary.embedding","1"]|example/chunks.audio=' || "u0"."metaxy_data_version__audio"
            )
          )
        ) AS "metaxy_provenance__embedding"
      FROM (
        SELECT
          "m"."sample_uid" AS "sample_uid",
          arrayStringConcat(
            arrayMap(
              "t" -> tupleElement("t", 3),
              arraySort(
                groupArray(
                  (
                    "m"."sample_uid",
                    "m"."chunk_idx",
                    COALESCE("m"."metaxy_data_version__audio", "m"."metaxy_provenance__audio", '')
                  )
                )
              )
            ),
            ','
          ) AS "metaxy_data_version__audio"
        FROM "example__chunks" AS "m"
        GROUP BY
          "m"."sample_uid"
      ) AS "u0"
    ) AS "x"
    FULL JOIN "example__video_summary" AS "s"
      ON "x"."sample_uid" = "s"."sample_uid"
  ) AS "e"
  GROUP BY
    "e"."metaxy_stored__sample_uid" IS NULL,
    "e"."sample_uid" IS NULL,
    "e"."metaxy_stored__metaxy_provenance__embedding" IS NULL
    OR "e"."metaxy_provenance__embedding" <> "e"."metaxy_stored__metaxy_provenance__embedding"
) AS "g"
SETTINGS join_use_nulls = 1, prefer_column_name_to_alias = 1
