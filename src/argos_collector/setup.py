from setuptools import find_packages, setup

package_name = "argos_collector"

setup(
    name=package_name,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + package_name]),
        ("share/" + package_name, ["package.xml"]),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="ARGOS edge maintainers",
    maintainer_email="maintainers@argos-edge.org",
    description=(
        "ARGOS collector: reads a camera's Redis stream with a consumer group, aggregates per interval, "
        "writes InfluxDB and MQTT (plain Python service, no ROS)."
    ),
    license="Apache-2.0",
    tests_require=["pytest"],
    entry_points={
        "console_scripts": [
            "argos-collector = argos_collector.service:main",
        ],
    },
)
