SELECT
  COALESCE("e"."sample_uid", "e"."metaxy_stored__sample_uid") AS "sample_uid",
  CASE
    WHEN "e"."metaxy_stored__sample_uid" IS NULL
    THEN 'new'
    WHEN "e"."sample_uid" IS NULL
    THEN 'orphaned'
    ELSE 'stale'
  END AS "metaxy_status",
  "e"."metaxy_provenance__transcription" AS "metaxy_provenance__transcription",
  LOWER(HEX(MD5("e"."metaxy_provenance__transcription"))) AS "metaxy_provenance",
  CASE
    WHEN "e"."sample_uid" IS NULL
    THEN NULL
    WHEN "e"."metaxy_stored__sample_uid" IS NULL
    THEN TRUE
    ELSE "e"."metaxy_stored__metaxy_provenance__transcription" IS NULL
    OR "e"."metaxy_provenance__transcription" <> "e"."metaxy_stored__metaxy_provenance__transcription"
  END AS "metaxy_stale__transcription"
FROM (
  SELECT
    "x"."sample_uid" AS "sample_uid",
    "s"."sample_uid" AS "metaxy_stored__sample_uid",
    COALESCE(
      "x"."metaxy_provenance__transcription",
      LOWER(
        HEX(
          MD5(
            CASE
              WHEN COALESCE(
                NOT (
                  "d"."write_id" IS NULL
                )
                AND "x"."metaxy_write_id__0" < "s"."metaxy_write_id",
                FALSE
              )
              OR "x"."sample_uid" IS NULL
              THEN NULL
              ELSE '["example/stt.transcription","1"]|example/video.audio=' || COALESCE("x"."u0__metaxy_data_version__audio", "x"."u0__metaxy_provenance__audio", '')
            END
          )
        )
      )
    ) AS "metaxy_provenance__transcription",
    "s"."metaxy_provenance__transcription" AS "metaxy_stored__metaxy_provenance__transcription",
    COALESCE(
      NOT (
        "d"."write_id" IS NULL
      )
      AND "x"."metaxy_write_id__0" < "s"."metaxy_write_id",
      FALSE
    ) AS "metaxy_fast"
  FROM (
    SELECT
      "u0"."sample_uid" AS "sample_uid",
      "u0"."metaxy_write_id" AS "metaxy_write_id__0",
      LOWER(
        HEX(
          MD5(
            CASE
              WHEN "latest"."write_id" IS NULL
              OR "u0"."metaxy_write_id" IS NULL
              OR "u0"."metaxy_write_id" >= "latest"."write_id"
              THEN '["example/stt.transcription","1"]|example/video.audio=' || COALESCE("u0"."metaxy_data_version__audio", "u0"."metaxy_provenance__audio", '')
            END
          )
        )
      ) AS "metaxy_provenance__transcription",
      CASE
        WHEN "latest"."write_id" IS NULL
        OR "u0"."metaxy_write_id" IS NULL
        OR "u0"."metaxy_write_id" >= "latest"."write_id"
        THEN NULL
        ELSE "u0"."metaxy_data_version__audio"
      END AS "u0__metaxy_data_version__audio",
      CASE
        WHEN "latest"."write_id" IS NULL
        OR "u0"."metaxy_write_id" IS NULL
        OR "u0"."metaxy_write_id" >= "latest"."write_id"
        THEN NULL
        ELSE "u0"."metaxy_provenance__audio"
      END AS "u0__metaxy_provenance__audio"
    FROM "example__video" AS "u0"
    CROSS JOIN (
      SELECT
        MAX("write_id") AS "write_id"
      FROM "metaxy_writes"
      WHERE
        "feature" = 'example/stt'
        AND "definition" = 'ec6b7e39128fc1fbafd6221dd80ca6dd66970091fb16b3ce548bd39e973808c8'
    ) AS "latest"
  ) AS "x"
  FULL JOIN "example__stt" AS "s"
    ON "x"."sample_uid" = "s"."sample_uid"
  LEFT JOIN (
    SELECT DISTINCT
      "write_id"
    FROM "metaxy_writes"
    WHERE
      "feature" = 'example/stt'
      AND "definition" = 'ec6b7e39128fc1fbafd6221dd80ca6dd66970091fb16b3ce548bd39e973808c8'
  ) AS "d"
    ON "s"."metaxy_write_id" = "d"."write_id"
) AS "e"
WHERE
  CASE
    WHEN "e"."metaxy_fast"
    THEN FALSE
    ELSE "e"."metaxy_stored__sample_uid" IS NULL
    OR "e"."sample_uid" IS NULL
    OR (
      "e"."metaxy_stored__metaxy_provenance__transcription" IS NULL
      OR "e"."metaxy_provenance__transcription" <> "e"."metaxy_stored__metaxy_provenance__transcription"
    )
  END
SETTINGS join_use_nulls = 1, prefer_column_name_to_alias = 1
