SELECT
  COALESCE("e"."sample_uid", "e"."metaxy_stored__sample_uid") AS "sample_uid",
  CASE
    WHEN "e"."metaxy_stored__sample_uid" IS NULL
    THEN 'new'
    WHEN "e"."sample_uid" IS NULL
    THEN 'orphaned'
    ELSE 'stale'
  END AS "metaxy_status",
  "e"."metaxy_provenance__detections" AS "metaxy_provenance__detections",
  LOWER(HEX(MD5("e"."metaxy_provenance__detections"))) AS "metaxy_provenance",
  CASE
    WHEN "e"."sample_uid" IS NULL
    THEN NULL
    WHEN "e"."metaxy_stored__sample_uid" IS NULL
    THEN TRUE
    ELSE "e"."metaxy_stored__metaxy_provenance__detections" IS NULL
    OR "e"."metaxy_provenance__detections" <> "e"."metaxy_stored__metaxy_provenance__detections"
  END AS "metaxy_stale__detections"
FROM (
  SELECT
    "x"."sample_uid" AS "sample_uid",
    "s"."sample_uid" AS "metaxy_stored__sample_uid",
    COALESCE(
      "x"."metaxy_provenance__detections",
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
              ELSE '["example/face_detection.detections","1"]|example/crop.frames=' || COALESCE("x"."u0__metaxy_data_version__frames", "x"."u0__metaxy_provenance__frames", '')
            END
          )
        )
      )
    ) AS "metaxy_provenance__detections",
    "s"."metaxy_provenance__detections" AS "metaxy_stored__metaxy_provenance__detections",
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
              THEN '["example/face_detection.detections","1"]|example/crop.frames=' || COALESCE("u0"."metaxy_data_version__frames", "u0"."metaxy_provenance__frames", '')
            END
          )
        )
      ) AS "metaxy_provenance__detections",
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
    FROM "example__crop" AS "u0"
    CROSS JOIN (
      SELECT
        MAX("write_id") AS "write_id"
      FROM "metaxy_writes"
      WHERE
        "feature" = 'example/face_detection'
        AND "definition" = '28cc54b75d3f38a26cb75e110c28799c2ef7ebf7a240c4c4b9eb34477b682915'
    ) AS "latest"
  ) AS "x"
  FULL JOIN "example__face_detection" AS "s"
    ON "x"."sample_uid" = "s"."sample_uid"
  LEFT JOIN (
    SELECT DISTINCT
      "write_id"
    FROM "metaxy_writes"
    WHERE
      "feature" = 'example/face_detection'
      AND "definition" = '28cc54b75d3f38a26cb75e110c28799c2ef7ebf7a240c4c4b9eb34477b682915'
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
      "e"."metaxy_stored__metaxy_provenance__detections" IS NULL
      OR "e"."metaxy_provenance__detections" <> "e"."metaxy_stored__metaxy_provenance__detections"
    )
  END
SETTINGS join_use_nulls = 1, prefer_column_name_to_alias = 1
