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
    "x"."sample_uid" AS "sample_uid",
    COALESCE(
      "x"."metaxy_provenance__audio",
      LOWER(
        HEX(
          MD5(
            CASE
              WHEN COALESCE(NOT (
                "d"."write_id" IS NULL
              ), FALSE) OR "x"."sample_uid" IS NULL
              THEN NULL
              ELSE '["example/video.audio","1"]|audio_sha=' || CASE
                WHEN "x"."src__audio_sha" IS NULL
                THEN '~'
                ELSE LOWER(HEX(MD5("x"."src__audio_sha")))
              END
            END
          )
        )
      )
    ) AS "metaxy_provenance__audio",
    "x"."metaxy_stored__metaxy_provenance__audio" AS "metaxy_stored__metaxy_provenance__audio",
    COALESCE(
      "x"."metaxy_provenance__frames",
      LOWER(
        HEX(
          MD5(
            CASE
              WHEN COALESCE(NOT (
                "d"."write_id" IS NULL
              ), FALSE) OR "x"."sample_uid" IS NULL
              THEN NULL
              ELSE '["example/video.frames","1"]|frames_sha=' || CASE
                WHEN "x"."src__frames_sha" IS NULL
                THEN '~'
                ELSE LOWER(HEX(MD5("x"."src__frames_sha")))
              END
            END
          )
        )
      )
    ) AS "metaxy_provenance__frames",
    "x"."metaxy_stored__metaxy_provenance__frames" AS "metaxy_stored__metaxy_provenance__frames",
    COALESCE(NOT (
      "d"."write_id" IS NULL
    ), FALSE) AS "metaxy_fast"
  FROM (
    SELECT
      "src"."sample_uid" AS "sample_uid",
      "src"."metaxy_write_id" AS "metaxy_write_id__0",
      "src"."metaxy_provenance__audio" AS "metaxy_stored__metaxy_provenance__audio",
      "src"."metaxy_provenance__frames" AS "metaxy_stored__metaxy_provenance__frames",
      LOWER(
        HEX(
          MD5(
            CASE
              WHEN "latest"."write_id" IS NULL
              OR "src"."metaxy_write_id" IS NULL
              OR "src"."metaxy_write_id" > "latest"."write_id"
              THEN '["example/video.audio","1"]|audio_sha=' || CASE
                WHEN "src"."audio_sha" IS NULL
                THEN '~'
                ELSE LOWER(HEX(MD5("src"."audio_sha")))
              END
            END
          )
        )
      ) AS "metaxy_provenance__audio",
      LOWER(
        HEX(
          MD5(
            CASE
              WHEN "latest"."write_id" IS NULL
              OR "src"."metaxy_write_id" IS NULL
              OR "src"."metaxy_write_id" > "latest"."write_id"
              THEN '["example/video.frames","1"]|frames_sha=' || CASE
                WHEN "src"."frames_sha" IS NULL
                THEN '~'
                ELSE LOWER(HEX(MD5("src"."frames_sha")))
              END
            END
          )
        )
      ) AS "metaxy_provenance__frames",
      CASE
        WHEN "latest"."write_id" IS NULL
        OR "src"."metaxy_write_id" IS NULL
        OR "src"."metaxy_write_id" > "latest"."write_id"
        THEN NULL
        ELSE "src"."audio_sha"
      END AS "src__audio_sha",
      CASE
        WHEN "latest"."write_id" IS NULL
        OR "src"."metaxy_write_id" IS NULL
        OR "src"."metaxy_write_id" > "latest"."write_id"
        THEN NULL
        ELSE "src"."frames_sha"
      END AS "src__frames_sha"
    FROM "example__video" AS "src"
    CROSS JOIN (
      SELECT
        MAX("write_id") AS "write_id"
      FROM "metaxy_writes"
      WHERE
        "feature" = 'example/video'
        AND "definition" = '2af8554ffc7296f286e4a464e3ce25cf1c4645e1bf3840a1f19004314e0c3938'
    ) AS "latest"
  ) AS "x"
  LEFT JOIN (
    SELECT DISTINCT
      "write_id"
    FROM "metaxy_writes"
    WHERE
      "feature" = 'example/video'
      AND "definition" = '2af8554ffc7296f286e4a464e3ce25cf1c4645e1bf3840a1f19004314e0c3938'
  ) AS "d"
    ON "x"."metaxy_write_id__0" = "d"."write_id"
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
SETTINGS join_use_nulls = 1, prefer_column_name_to_alias = 1
