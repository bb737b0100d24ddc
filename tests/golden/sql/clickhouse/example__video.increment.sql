SELECT
  "e"."sample_uid" AS "sample_uid",
  'stale' AS "metaxy_status",
  "e"."metaxy_provenance__audio" AS "metaxy_provenance__audio",
  "e"."metaxy_provenance__frames" AS "metaxy_provenance__frames",
  LOWER(
    HEX(MD5("e"."metaxy_provenance__audio" || '|' || "e"."metaxy_provenance__frames"))
  ) AS "metaxy_provenance",
  "e"."metaxy_stored__metaxy_provenance__audio" IS NULL
  OR "e"."metaxy_provenance__audio" <> "e"."metaxy_stored__metaxy_provenance__audio" AS "metaxy_stale__audio",
  "e"."metaxy_stored__metaxy_provenance__frames" IS NULL
  OR "e"."metaxy_provenance__frames" <> "e"."metaxy_stored__metaxy_provenance__frames" AS "metaxy_stale__frames"
FROM (
  SELECT
    "src"."sample_uid" AS "sample_uid",
    LOWER(
      HEX(
        MD5(
          '["example/video.audio","1"]|audio_sha=' || CASE
            WHEN "src"."audio_sha" IS NULL
            THEN '~'
            ELSE LOWER(HEX(MD5("src"."audio_sha")))
          END
        )
      )
    ) AS "metaxy_provenance__audio",
    "src"."metaxy_provenance__audio" AS "metaxy_stored__metaxy_provenance__audio",
    LOWER(
      HEX(
        MD5(
          '["example/video.frames","1"]|frames_sha=' || CASE
            WHEN "src"."frames_sha" IS NULL
            THEN '~'
            ELSE LOWER(HEX(MD5("src"."frames_sha")))
          END
        )
      )
    ) AS "metaxy_provenance__frames",
    "src"."metaxy_provenance__frames" AS "metaxy_stored__metaxy_provenance__frames",
    COALESCE(NOT (
      "d"."write_id" IS NULL
    ), FALSE) AS "metaxy_fast"
  FROM "example__video" AS "src"
  LEFT JOIN (
    SELECT DISTINCT
      "write_id"
    FROM "metaxy_writes"
    WHERE
      "feature" = 'example/video'
      AND "definition" = '2af8554ffc7296f286e4a464e3ce25cf1c4645e1bf3840a1f19004314e0c3938'
  ) AS "d"
    ON "src"."metaxy_write_id" = "d"."write_id"
) AS "e"
WHERE
  CASE
    WHEN "e"."metaxy_fast"
    THEN FALSE
    ELSE (
      "e"."metaxy_stored__metaxy_provenance__audio" IS NULL
      OR "e"."metaxy_provenance__audio" <> "e"."metaxy_stored__metaxy_provenance__audio"
    )
    OR (
      "e"."metaxy_stored__metaxy_provenance__frames" IS NULL
      OR "e"."metaxy_provenance__frames" <> "e"."metaxy_stored__metaxy_provenance__frames"
    )
  END
SETTINGS join_use_nulls = 1
