from setuptools import find_packages, setup

package_name = "argos_bridge"

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
    description="ARGOS bridge node: Redis Stream buffer and MQTT publishing of detections, tracks and counts.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "bridge_node = argos_bridge.node:main",
        ],
    },
)
