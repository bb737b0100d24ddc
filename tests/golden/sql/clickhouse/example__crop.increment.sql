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
    "u0"."sample_uid" AS "sample_uid",
    "s"."sample_uid" AS "metaxy_stored__sample_uid",
    LOWER(
      HEX(
        MD5(
          '["example/crop.audio","1"]|example/video.audio=' || "u0"."metaxy_data_version__audio"
        )
      )
    ) AS "metaxy_provenance__audio",
    "s"."metaxy_provenance__audio" AS "metaxy_stored__metaxy_provenance__audio",
    LOWER(
      HEX(
        MD5(
          '["example/crop.frames","1"]|example/video.frames=' || "u0"."metaxy_data_version__frames"
        )
      )
    ) AS "metaxy_provenance__frames",
    "s"."metaxy_provenance__frames" AS "metaxy_stored__metaxy_provenance__frames",
    COALESCE(
      NOT (
        "d"."write_id" IS NULL
      )
      AND "u0"."metaxy_write_id" < "s"."metaxy_write_id",
      FALSE
    ) AS "metaxy_fast"
  FROM "example__video" AS "u0"
  FULL JOIN "example__crop" AS "s"
    ON "u0"."sample_uid" = "s"."sample_uid"
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
SETTINGS join_use_nulls = 1
