SELECT
  COALESCE("e"."sample_uid", "e"."metaxy_stored__sample_uid") AS "sample_uid",
  CASE
    WHEN "e"."metaxy_stored__sample_uid" IS NULL
    THEN 'new'
    WHEN "e"."sample_uid" IS NULL
    THEN 'orphaned'
    ELSE 'stale'
  END AS "metaxy_status",
  "e"."metaxy_provenance__audio" AS "metaxy_provenance__audio",
  "e"."metaxy_provenance__frames" AS "metaxy_provenance__frames",
  LOWER(
    HEX(MD5("e"."metaxy_provenance__audio" || '|' || "e"."metaxy_provenance__frames"))
  ) AS "metaxy_provenance",
  CASE
    WHEN "e"."sample_uid" IS NULL
    THEN NULL
    WHEN "e"."metaxy_stored__sample_uid" IS NULL
    THEN TRUE
    ELSE "e"."metaxy_stored__metaxy_provenance__audio" IS NULL
    OR "e"."metaxy_provenance__audio" <> "e"."metaxy_stored__metaxy_provenance__audio"
  END AS "metaxy_stale__audio",
  CASE
    WHEN "e"."sample_uid" IS NULL
    THEN NULL
    WHEN "e"."metaxy_stored__sample_uid" IS NULL
    THEN TRUE
    ELSE "e"."metaxy_stored__metaxy_provenance__frames" IS NULL
    OR "e"."metaxy_provenance__frames" <> "e"."metaxy_stored__metaxy_provenance__frames"
  END AS "metaxy_stale__frames"
FROM (
  SELECT
    "x"."sample_uid" AS "sample_uid",
    "s"."sample_uid" AS "metaxy_stored__sample_uid",
    COALESCE(
      "x"."metaxy_provenance__audio",
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
              ELSE '["example/crop.audio","1"]|example/video.audio=' || COALESCE("x"."u0__metaxy_data_version__audio", "x"."u0__metaxy_provenance__audio", '')
            END
          )
        )
      )
    ) AS "metaxy_provenance__audio",
    "s"."metaxy_provenance__audio" AS "metaxy_stored__metaxy_provenance__audio",
    COALESCE(
      "x"."metaxy_provenance__frames",
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
              ELSE '["example/crop.frames","1"]|example/video.frames=' || COALESCE("x"."u0__metaxy_data_version__frames", "x"."u0__metaxy_provenance__frames", '')
            END
          )
        )
      )
    ) AS "metaxy_provenance__frames",
    "s"."metaxy_provenance__frames" AS "metaxy_stored__metaxy_provenance__frames",
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
              THEN '["example/crop.audio","1"]|example/video.audio=' || COALESCE("u0"."metaxy_data_version__audio", "u0"."metaxy_provenance__audio", '')
            END
          )
        )
      ) AS "metaxy_provenance__audio",
      LOWER(
        HEX(
          MD5(
            CASE
              WHEN "latest"."write_id" IS NULL
              OR "u0"."metaxy_write_id" IS NULL
              OR "u0"."metaxy_write_id" >= "latest"."write_id"
              THEN '["example/crop.frames","1"]|example/video.frames=' || COALESCE("u0"."metaxy_data_version__frames", "u0"."metaxy_provenance__frames", '')
            END
          )
        )
      ) AS "metaxy_provenance__frames",
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
      END AS "u0__metaxy_provenance__audio",
      CASE
        WHEN "latest"."write_id" IS NULL
        OR "u0"."metaxy_write_id" IS NULL
        OR "u0"."metaxy_write_id" >= "latest"."write_id"
        THEN NULL
        ELSE "u0"."metaxy_data_version__frames"
      END AS "u0__metaxy_data_version__frames",
      CASE
        WHEN "latest"."write_id" IS NULL
        OR "u0"."metaxy_write_id" IS NULL
        OR "u0"."metaxy_write_id" >= "latest"."write_id"
        THEN NULL
        ELSE "u0"."metaxy_provenance__frames"
      END AS "u0__metaxy_provenance__frames"
    FROM "example__video" AS "u0"
    CROSS JOIN (
      SELECT
        MAX("write_id") AS "write_id"
      FROM "metaxy_writes"
      WHERE
        "feature" = 'example/crop'
        AND "definition" = '0d49d8071d033e799d08411a698c5c38db0c6cc38594a5ae0764fee4d19acd43'
    ) AS "latest"
  ) AS "x"
  FULL JOIN "example__crop" AS "s"
    ON "x"."sample_uid" = "s"."sample_uid"
  LEFT JOIN (
    SELECT DISTINCT
      "write_id"
    FROM "metaxy_writes"
    WHERE
      "feature" = 'example/crop'
      AND "definition" = '0d49d8071d033e799d08411a698c5c38db0c6cc38594a5ae0764fee4d19acd43'
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
      (
        "e"."metaxy_stored__metaxy_provenance__audio" IS NULL
        OR "e"."metaxy_provenance__audio" <> "e"."metaxy_stored__metaxy_provenance__audio"
      )
      OR (
        "e"."metaxy_stored__metaxy_provenance__frames" IS NULL
        OR "e"."metaxy_provenance__frames" <> "e"."metaxy_stored__metaxy_provenance__frames"
      )
    )
  END
SETTINGS join_use_nulls = 1, prefer_column_name_to_alias = 1
