SELECT
  COALESCE("e"."sample_uid", "s"."sample_uid") AS "sample_uid",
  CASE
    WHEN "s"."sample_uid" IS NULL
    THEN 'new'
    WHEN "e"."sample_uid" IS NULL
    THEN 'orphaned'
    ELSE 'stale'
  END AS "metaxy_status",
  "e"."metaxy_provenance__transcription" AS "metaxy_provenance__transcription",
  MD5("e"."metaxy_provenance__transcription") AS "metaxy_provenance",
  CASE
    WHEN "e"."sample_uid" IS NULL
    THEN NULL
    WHEN "s"."sample_uid" IS NULL
    THEN TRUE
    ELSE "s"."metaxy_provenance__transcription" IS NULL
    OR "e"."metaxy_provenance__transcription" <> "s"."metaxy_provenance__transcription"
  END AS "metaxy_stale__transcription"
FROM (
  SELECT
    "u0"."sample_uid" AS "sample_uid",
    MD5(
      '["example/stt.transcription","1"]|example/video.audio=' || "u0"."metaxy_data_version__audio"
    ) AS "metaxy_provenance__transcription"
  FROM "example__video" AS "u0"
) AS "e"
FULL JOIN "example__stt" AS "s"
  ON "e"."sample_uid" = "s"."sample_uid"
WHERE
  "s"."sample_uid" IS NULL
  OR "e"."sample_uid" IS NULL
  OR (
    "s"."metaxy_provenance__transcription" IS NULL
    OR "e"."metaxy_provenance__transcription" <> "s"."metaxy_provenance__transcription"
  )
