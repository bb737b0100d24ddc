SELECT
  `w`.`sample_uid`,
  `w`.`metaxy_provenance__summary`,
  `w`.`metaxy_data_version__summary`,
  MD5(`w`.`metaxy_provenance__summary`) AS `metaxy_provenance`,
  CAST(NULL AS STRING) AS `metaxy_data_version`,
  'e1a8b905233035959e103e3dce108e089e8eea0f13d5fbc3c3871315e3949754' AS `metaxy_feature_version`,
  '5707a5d141d1234344c1effc0117b8511a8a68fe33a6c1a58461cb99a3190d8d' AS `metaxy_project_version`,
  CAST('2024-01-02 03:04:05.678901' AS TIMESTAMP_NTZ) AS `metaxy_written_at`,
  CAST(7 AS BIGINT) AS `metaxy_write_id`
FROM (
  SELECT
    `w`.`sample_uid`,
    `w`.`metaxy_provenance__summary`,
    CAST(NULL AS STRING) AS `metaxy_data_version__summary`
  FROM (
    SELECT
      `b`.`sample_uid`,
      `e`.`metaxy_provenance__summary` AS `metaxy_provenance__summary`
    FROM `metaxy_batch` AS `b`
    LEFT JOIN (
      SELECT
        `u0`.`sample_uid` AS `sample_uid`,
        MD5(
          '["example/clip_summary.summary","1"]|example/clip_embedding.embedding=' || `u0`.`metaxy_data_version__embedding` || '|example/video.audio=' || COALESCE(`u1`.`metaxy_data_version__audio`, `u1`.`metaxy_provenance__audio`, '')
        ) AS `metaxy_provenance__summary`
      FROM (
        SELECT
          `m`.`sample_uid` AS `sample_uid`,
          ARRAY_JOIN(
            TRANSFORM(
              SORT_ARRAY(
                COLLECT_LIST(
                  NAMED_STRUCT(
                    'k0',
                    `m`.`sample_uid`,
                    'k1',
                    `m`.`clip_idx`,
                    'v',
                    COALESCE(`m`.`metaxy_data_version__embedding`, `m`.`metaxy_provenance__embedding`, '')
                  )
                )
              ),
              `s` -> `s`.`v`
            ),
            ','
          ) AS `metaxy_data_version__embedding`
        FROM `example__clip_embedding` AS `m`
        GROUP BY
          `m`.`sample_uid`
      ) AS `u0`
      JOIN `example__video` AS `u1`
        ON `u0`.`sample_uid` = `u1`.`sample_uid`
    ) AS `e`
      ON `b`.`sample_uid` = `e`.`sample_uid`
  ) AS `w`
) AS `w`
