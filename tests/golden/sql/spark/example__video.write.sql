SELECT
  `w`.`sample_uid`,
  `w`.`path`,
  `w`.`audio_sha`,
  `w`.`frames_sha`,
  `w`.`frames`,
  `w`.`duration`,
  `w`.`size`,
  `w`.`metaxy_provenance__audio`,
  `w`.`metaxy_data_version__audio`,
  `w`.`metaxy_provenance__frames`,
  `w`.`metaxy_data_version__frames`,
  MD5(`w`.`metaxy_provenance__audio` || '|' || `w`.`metaxy_provenance__frames`) AS `metaxy_provenance`,
  CAST(NULL AS STRING) AS `metaxy_data_version`,
  '8fd92b1bc74d0d52fcc1c40ff6fffbf4edc57a34107a744b2d439d0527952595' AS `metaxy_feature_version`,
  '1b826fca46205078540149446b2e77973e258b8b195b8321ed89446f93e1f6c3' AS `metaxy_project_version`,
  CAST('2024-01-02 03:04:05.678901' AS TIMESTAMP_NTZ) AS `metaxy_written_at`,
  CAST(7 AS BIGINT) AS `metaxy_write_id`
FROM (
  SELECT
    `w`.`sample_uid`,
    `w`.`path`,
    `w`.`audio_sha`,
    `w`.`frames_sha`,
    `w`.`frames`,
    `w`.`duration`,
    `w`.`size`,
    `w`.`metaxy_provenance__audio`,
    `w`.`metaxy_provenance__frames`,
    CAST(NULL AS STRING) AS `metaxy_data_version__audio`,
    CAST(NULL AS STRING) AS `metaxy_data_version__frames`
  FROM (
    SELECT
      `src`.`sample_uid` AS `sample_uid`,
      MD5(
        '["example/video.audio","1"]|audio_sha=' || CASE WHEN `src`.`audio_sha` IS NULL THEN '~' ELSE MD5(`src`.`audio_sha`) END
      ) AS `metaxy_provenance__audio`,
      MD5(
        '["example/video.frames","1"]|frames_sha=' || CASE WHEN `src`.`frames_sha` IS NULL THEN '~' ELSE MD5(`src`.`frames_sha`) END
      ) AS `metaxy_provenance__frames`,
      `src`.`path`,
      `src`.`audio_sha`,
      `src`.`frames_sha`,
      `src`.`frames`,
      `src`.`duration`,
      `src`.`size`
    FROM `metaxy_batch` AS `src`
  ) AS `w`
) AS `w`
