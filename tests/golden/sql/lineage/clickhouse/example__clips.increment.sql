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
              ELSE '["example/clips.audio","1"]|example/video.audio=' || COALESCE("x"."u0__metaxy_data_version__audio", "x"."u0__metaxy_provenance__audio", '')
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
              ELSE '["example/clips.frames","1"]|example/video.frames=' || COALESCE("x"."u0__metaxy_data_version__frames", "x"."u0__metaxy_provenance__frames", '')
            END
          )
        )
      )
    ) AS "metaxy_provenance__frames",
    "s"."metaxy_provenance__frames" AS "metaxy_stored__metaxy_provenance__frames",
    "s"."metaxy_children" AS "metaxy_children",
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
              THEN '["example/clips.audio","1"]|example/video.audio=' || COALESCE("u0"."metaxy_data_version__audio", "u0"."metaxy_provenance__audio", '')
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
              THEN '["example/clips.frames","1"]|example/video.frames=' || COALESCE("u0"."metaxy_data_version__frames", "u0"."metaxy_provenance__frames", '')
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
        "feature" = 'example/clips'
        AND "definition" = '54a189c0ab89160fb5cb1b1c66cf40eabaf9e9fbc9ceb56c9401ecb2fee76ac3'
    ) AS "latest"
  ) AS "x"
  FULL JOIN (
    SELECT
      "c"."sample_uid" AS "sample_uid",
      CASE
        WHEN MIN("c"."metaxy_provenance__audio") = MAX("c"."metaxy_provenance__audio")
        AND COUNT("c"."metaxy_provenance__audio") = COUNT(*)
        THEN MIN("c"."metaxy_provenance__audio")
      END AS "metaxy_provenance__audio",
      CASE
        WHEN MIN("c"."metaxy_provenance__frames") = MAX("c"."metaxy_provenance__frames")
        AND COUNT("c"."metaxy_provenance__frames") = COUNT(*)
        THEN MIN("c"."metaxy_provenance__frames")
      END AS "metaxy_provenance__frames",
      CASE
        WHEN MIN("c"."metaxy_write_id") = MAX("c"."metaxy_write_id")
        AND COUNT("c"."metaxy_write_id") = COUNT(*)
        THEN MIN("c"."metaxy_write_id")
      END AS "metaxy_write_id",
      COUNT(*) AS "metaxy_children"
    FROM "example__clips" AS "c"
    GROUP BY
      "c"."sample_uid"
  ) AS "s"
    ON "x"."sample_uid" = "s"."sample_uid"
  LEFT JOIN (
    SELECT DISTINCT
      "write_id"
    FROM "metaxy_writes"
    WHERE
      "feature" = 'example/clips'
      AND "definition" = '54a189c0ab89160fb5cb1b1c66cf40eabaf9e9fbc9ceb56c9401ecb2fee76ac3'
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
